package pickle

import (
	"encoding/binary"
	"strconv"
)

// The memo. Python's pickler memoizes nearly every value it writes, but
// reads back only the few it meets twice (shared strings, globals). A
// decoder that keeps every memoized value keeps every value alive until
// the end, garbage included; so before decoding, one pass over the
// opcodes finds the indices that GET opcodes read, and only those values
// are kept. The others leave an empty slot, so MEMOIZE numbering holds.

// maxReadIndex bounds the read set's bitmap (8 MiB); a pickle that reads
// a higher index keeps every memoized value instead.
const maxReadIndex = 1 << 26

// readSet is a bitmap of the memo indices a pickle reads.
type readSet []uint64

func (r readSet) has(i uint64) bool { return i/64 < uint64(len(r)) && r[i/64]&(1<<(i%64)) != 0 }

// set marks i, which must be below maxReadIndex, and returns how many
// words the bitmap grew by.
func (r *readSet) set(i uint64) int64 {
	w := int(i / 64)
	grown := 0
	if w >= len(*r) {
		grown = max(w+1-len(*r), len(*r)/2)
		*r = append(*r, make([]uint64, grown)...)
	}
	(*r)[w] |= 1 << (i % 64)
	return int64(grown)
}

// scanReads returns the memo indices the pickle at the start of data
// reads, or ok false when it cannot tell (an opcode it cannot step over,
// or an index past maxReadIndex): then the decoder keeps everything and
// reports any error itself.
func scanReads(data []byte) (r readSet, ok bool) {
	read := func(idx uint64) bool {
		if idx >= maxReadIndex {
			return false
		}
		r.set(idx)
		return true
	}
	// Indices put past the bitmap's reach (BINPUT and PUT name any) make
	// the decoder keep everything; MEMOIZE stays below MaxMemo.
	put := func(idx uint64) bool { return idx < maxReadIndex }
	pos := 0
	need := func(n uint64) bool {
		if n > uint64(len(data)-pos) {
			return false
		}
		pos += int(n)
		return true
	}
	uint := func(width int) (uint64, bool) {
		if !need(uint64(width)) {
			return 0, false
		}
		b := data[pos-width : pos]
		switch width {
		case 1:
			return uint64(b[0]), true
		case 2:
			return uint64(binary.LittleEndian.Uint16(b)), true
		case 4:
			return uint64(binary.LittleEndian.Uint32(b)), true
		}
		return binary.LittleEndian.Uint64(b), true
	}
	line := func() (string, bool) {
		for i := pos; i < len(data); i++ {
			if data[i] == '\n' {
				l := string(data[pos:i])
				pos = i + 1
				return l, true
			}
		}
		return "", false
	}
	for pos < len(data) {
		op := data[pos]
		pos++
		var fine bool
		switch op {
		case opStop:
			return r, true
		case opMark, opPop, opPopMark, opDup, opNone, opBinPersID, opReduce, opAppend,
			opBuild, opDict, opEmptyDict, opAppends, opList, opEmptyList, opObj,
			opSetItem, opTuple, opEmptyTuple, opSetItems, opNewObj, opTuple1, opTuple2,
			opTuple3, opNewTrue, opNewFalse, opEmptySet, opAddItems, opFrozenSet,
			opNewObjEx, opStackGlobal, opMemoize, opNextBuffer, opReadonlyBuffer:
			fine = true
		case opProto, opBinInt1, opExt1:
			_, fine = uint(1)
		case opBinInt2, opExt2:
			_, fine = uint(2)
		case opBinInt, opExt4:
			_, fine = uint(4)
		case opBinPut, opLongBinPut:
			width := 1
			if op == opLongBinPut {
				width = 4
			}
			var idx uint64
			if idx, fine = uint(width); fine {
				fine = put(idx)
			}
		case opFrame, opBinFloat:
			_, fine = uint(8)
		case opBinGet, opLongBinGet:
			width := 1
			if op == opLongBinGet {
				width = 4
			}
			var idx uint64
			if idx, fine = uint(width); fine {
				fine = read(idx)
			}
		case opGet:
			var l string
			if l, fine = line(); fine {
				idx, err := strconv.ParseUint(l, 10, 32)
				fine = err == nil && read(idx)
			}
		case opInt, opLong, opFloat, opString, opUnicode, opPersID:
			_, fine = line()
		case opPut:
			var l string
			if l, fine = line(); fine {
				idx, err := strconv.ParseUint(l, 10, 32)
				fine = err == nil && put(idx)
			}
		case opGlobal, opInst:
			if _, fine = line(); fine {
				_, fine = line()
			}
		case opLong1, opLong4:
			width := 1
			if op == opLong4 {
				width = 4
			}
			var n uint64
			if n, fine = uint(width); fine {
				fine = need(n)
			}
		case opBinString, opShortBinString, opBinUnicode, opShortBinUnicode, opBinUnicode8,
			opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
			var n uint64
			if n, fine = uint(lenWidth(op)); fine {
				fine = need(n)
			}
		}
		if !fine {
			return nil, false
		}
	}
	return nil, false
}

// memo holds the memoized values. Without a read set (scanned false), it
// keeps them all: pickle writers number entries 0, 1, 2, ..., so blocks of
// slots hold them without the copies a growing slice makes, and other
// indices go to sparse. With one, defined marks every index put and only
// the values of read indices are kept, in sparse.
type memo struct {
	scanned bool
	reads   readSet // the indices GET opcodes read
	defined readSet // with scanned: the indices put

	blocks [][]any
	dense  uint64 // entries in blocks
	sparse map[uint64]any
	n      int // distinct indices put, which numbers MEMOIZE
}

const memoBlock = 4096

// put stores v at idx and returns the bytes it newly holds.
func (m *memo) put(idx uint64, v any) int64 {
	var used int64
	if m.scanned {
		if !m.defined.has(idx) {
			used += 8 * m.defined.set(idx)
			m.n++
		}
		if !m.reads.has(idx) {
			return used // never read: nothing to keep
		}
		if _, ok := m.sparse[idx]; !ok {
			used += sparseCost
		}
		if m.sparse == nil {
			m.sparse = make(map[uint64]any)
		}
		m.sparse[idx] = v
		return used
	}
	if idx < m.dense {
		m.blocks[idx/memoBlock][idx%memoBlock] = v
		return 0
	}
	if idx == m.dense {
		if idx%memoBlock == 0 {
			used += memoBlock * slotCost
			m.blocks = append(m.blocks, make([]any, 0, memoBlock))
		}
		b := &m.blocks[len(m.blocks)-1]
		*b = append(*b, v)
		m.dense++
		if _, ok := m.sparse[idx]; ok {
			delete(m.sparse, idx)
			return used
		}
		m.n++
		return used
	}
	if _, ok := m.sparse[idx]; !ok {
		used += sparseCost
		m.n++
	}
	if m.sparse == nil {
		m.sparse = make(map[uint64]any)
	}
	m.sparse[idx] = v
	return used
}

// has reports whether idx was put.
func (m *memo) has(idx uint64) bool {
	if m.scanned {
		return m.defined.has(idx)
	}
	if idx < m.dense {
		return true
	}
	_, ok := m.sparse[idx]
	return ok
}

// get returns the value at idx, if idx was put.
func (m *memo) get(idx uint64) (any, bool) {
	if !m.scanned && idx < m.dense {
		return m.blocks[idx/memoBlock][idx%memoBlock], true
	}
	v, ok := m.sparse[idx]
	return v, ok
}

// set replaces the value at an index get finds.
func (m *memo) set(idx uint64, v any) {
	if !m.scanned && idx < m.dense {
		m.blocks[idx/memoBlock][idx%memoBlock] = v
	} else {
		m.sparse[idx] = v
	}
}

func (s *decodeState) memoPut(idx uint64) error {
	t, err := s.top()
	if err != nil {
		return err
	}
	if !s.memo.has(idx) {
		limit := s.MaxMemo
		if limit <= 0 {
			limit = 1 << 24
		}
		if s.memo.n >= limit {
			return s.errorf("more than %d memo entries", limit)
		}
	}
	v := *t
	s.used += s.memo.put(idx, v)
	if s.Build == nil {
		return nil
	}
	if _, kept := s.memo.get(idx); !kept {
		return nil
	}
	// A Build hook may replace a kept object, and the memo must then hand
	// out the replacement; a kept object or dict is not credited.
	switch v.(type) {
	case *Object, *Dict:
		if s.held == nil {
			s.held = make(map[any]uint64)
		}
		s.held[v] = idx
		s.used += sparseCost
	}
	return nil
}

func (s *decodeState) memoGet(idx uint64) error {
	v, ok := s.memo.get(idx)
	if !ok {
		return s.errorf("memo key %d not defined", idx)
	}
	s.pushRef(v)
	return nil
}
