package tokenizer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// MaxModelSize is the largest SentencePiece model file read. Real models
// are a few MiB (Llama 2: 500 KiB, Gemma: 4 MiB); the limit keeps a wrong or
// hostile file from being read into memory.
const MaxModelSize = 64 << 20

// MaxPieces is the largest vocabulary accepted. The largest real
// SentencePiece vocabularies have about a million pieces.
const MaxPieces = 1 << 21

// PieceType is the type of a SentencePiece vocabulary entry
// (ModelProto.SentencePiece.Type).
type PieceType int32

// Piece types, numbered as in sentencepiece_model.proto.
const (
	Normal      PieceType = 1
	Unknown     PieceType = 2
	Control     PieceType = 3
	UserDefined PieceType = 4
	Unused      PieceType = 5
	Byte        PieceType = 6
)

func (t PieceType) String() string {
	switch t {
	case Normal:
		return "NORMAL"
	case Unknown:
		return "UNKNOWN"
	case Control:
		return "CONTROL"
	case UserDefined:
		return "USER_DEFINED"
	case Unused:
		return "UNUSED"
	case Byte:
		return "BYTE"
	}
	return "PieceType(" + strconv.Itoa(int(t)) + ")"
}

// ModelType is the SentencePiece segmentation algorithm
// (TrainerSpec.ModelType).
type ModelType int32

// Model types, numbered as in sentencepiece_model.proto.
const (
	Unigram ModelType = 1
	BPE     ModelType = 2
	Word    ModelType = 3
	Char    ModelType = 4
)

func (t ModelType) String() string {
	switch t {
	case Unigram:
		return "unigram"
	case BPE:
		return "bpe"
	case Word:
		return "word"
	case Char:
		return "char"
	}
	return "ModelType(" + strconv.Itoa(int(t)) + ")"
}

// Piece is one vocabulary entry; its id is its index in [Model.Pieces].
type Piece struct {
	Piece string
	Score float32
	Type  PieceType
}

// TrainerSpec holds the fields of the model's TrainerSpec that matter to a
// converter, with proto2 defaults applied to absent fields.
type TrainerSpec struct {
	ModelType    ModelType
	VocabSize    int32 // the size asked for at training; len(Pieces) is authoritative
	ByteFallback bool

	// The special ids as recorded at training. SentencePiece itself finds
	// the special ids by looking up the pieces below; see [Model.UnkID].
	UnkID, BosID, EosID, PadID int32

	UnkPiece, BosPiece, EosPiece, PadPiece string
}

// NormalizerSpec holds the fields of the model's NormalizerSpec that are
// reported, with proto2 defaults applied.
type NormalizerSpec struct {
	Name string
	// PrecompiledCharsmap is the compiled normalization rule (empty for
	// "identity"), which Hugging Face's Precompiled normalizer runs as is.
	PrecompiledCharsmap    []byte
	AddDummyPrefix         bool
	RemoveExtraWhitespaces bool
	EscapeWhitespaces      bool
}

// Model is a parsed SentencePiece ModelProto (a tokenizer.model file).
// Only what a converter reports, checks or carries over is kept.
type Model struct {
	Pieces     []Piece
	Trainer    TrainerSpec
	Normalizer NormalizerSpec

	// Ids the way sentencepiece's SentencePieceProcessor computes them.
	unk, bos, eos, pad int
}

// Field numbers in sentencepiece_model.proto.
const (
	fModelPieces     = 1
	fModelTrainer    = 2
	fModelNormalizer = 3

	fPiecePiece = 1
	fPieceScore = 2
	fPieceType  = 3

	fTrainerModelType    = 3
	fTrainerVocabSize    = 4
	fTrainerByteFallback = 35
	fTrainerUnkID        = 40
	fTrainerBosID        = 41
	fTrainerEosID        = 42
	fTrainerPadID        = 43
	fTrainerUnkPiece     = 45
	fTrainerBosPiece     = 46
	fTrainerEosPiece     = 47
	fTrainerPadPiece     = 48

	fNormName           = 1
	fNormCharsmap       = 2
	fNormAddDummyPrefix = 3
	fNormRemoveExtraWS  = 4
	fNormEscapeWS       = 5
)

// ReadModelFile reads and parses a SentencePiece model file. Errors name
// the file.
func ReadModelFile(path string) (*Model, error) {
	data, err := readRegular(path, MaxModelSize)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece model: %w", err)
	}
	m, err := ParseModel(data)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece model %s: %w", path, err)
	}
	return m, nil
}

// ReadModel reads a model of the given size from r and parses it. The size
// is checked against [MaxModelSize] before anything is read.
func ReadModel(r io.Reader, size int64) (*Model, error) {
	if size < 0 || size > MaxModelSize {
		return nil, tooLarge(size, MaxModelSize)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	return ParseModel(data)
}

// ParseModel parses a serialized SentencePiece ModelProto and checks it the
// way sentencepiece checks a model when it loads one: at least one piece,
// no empty or duplicate pieces, exactly one UNKNOWN piece, byte pieces only
// with byte_fallback and then all 256 of them, and special ids within the
// vocabulary. Unknown fields are skipped; known fields with the wrong wire
// type are errors.
func ParseModel(data []byte) (*Model, error) {
	if len(data) > MaxModelSize {
		return nil, tooLarge(int64(len(data)), MaxModelSize)
	}
	m := &Model{
		Trainer: TrainerSpec{
			ModelType: Unigram, VocabSize: 8000,
			UnkID: 0, BosID: 1, EosID: 2, PadID: -1,
		},
		Normalizer: NormalizerSpec{AddDummyPrefix: true, RemoveExtraWhitespaces: true, EscapeWhitespaces: true},
	}
	err := walk(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case fModelPieces:
			if typ != protowire.BytesType {
				return wireErr("ModelProto.pieces", typ, protowire.BytesType)
			}
			if len(m.Pieces) == MaxPieces {
				return fmt.Errorf("more than %d pieces", MaxPieces)
			}
			p, err := parsePiece(v)
			if err != nil {
				return fmt.Errorf("piece %d: %w", len(m.Pieces), err)
			}
			if p.Piece == "" {
				// Caught here rather than in check so that a file of
				// empty pieces cannot make us allocate millions of them.
				return fmt.Errorf("piece %d is empty", len(m.Pieces))
			}
			m.Pieces = append(m.Pieces, p)
		case fModelTrainer:
			if typ != protowire.BytesType {
				return wireErr("ModelProto.trainer_spec", typ, protowire.BytesType)
			}
			// proto2 merges repeated occurrences of a message field.
			if err := parseTrainer(v, &m.Trainer); err != nil {
				return fmt.Errorf("trainer_spec: %w", err)
			}
		case fModelNormalizer:
			if typ != protowire.BytesType {
				return wireErr("ModelProto.normalizer_spec", typ, protowire.BytesType)
			}
			if err := parseNormalizer(v, &m.Normalizer); err != nil {
				return fmt.Errorf("normalizer_spec: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// walk calls fn for every field of a serialized message. For bytes fields v
// holds the payload; for varint and fixed fields x holds the value.
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("malformed field tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x32 uint32
			x32, n = protowire.ConsumeFixed32(b)
			x = uint64(x32)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			// Groups (deprecated) and reserved wire types: skip them whole.
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("malformed field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func wireErr(field string, got, want protowire.Type) error {
	return fmt.Errorf("field %s has wire type %s, want %s", field, wireName(got), wireName(want))
}

func wireName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "varint"
	case protowire.Fixed32Type:
		return "fixed32"
	case protowire.Fixed64Type:
		return "fixed64"
	case protowire.BytesType:
		return "length-delimited"
	case protowire.StartGroupType, protowire.EndGroupType:
		return "group"
	}
	return "reserved (" + strconv.Itoa(int(t)) + ")"
}

func parsePiece(b []byte) (Piece, error) {
	p := Piece{Type: Normal}
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case fPiecePiece:
			if typ != protowire.BytesType {
				return wireErr("SentencePiece.piece", typ, protowire.BytesType)
			}
			p.Piece = string(v)
		case fPieceScore:
			if typ != protowire.Fixed32Type {
				return wireErr("SentencePiece.score", typ, protowire.Fixed32Type)
			}
			p.Score = math.Float32frombits(uint32(x))
		case fPieceType:
			if typ != protowire.VarintType {
				return wireErr("SentencePiece.type", typ, protowire.VarintType)
			}
			if x < uint64(Normal) || x > uint64(Byte) {
				return fmt.Errorf("unknown piece type %d", int64(x))
			}
			p.Type = PieceType(x)
		}
		return nil
	})
	return p, err
}

func parseTrainer(b []byte, t *TrainerSpec) error {
	return walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		var i32 *int32
		var str *string
		var name string
		switch num {
		case fTrainerModelType:
			if typ != protowire.VarintType {
				return wireErr("TrainerSpec.model_type", typ, protowire.VarintType)
			}
			if x < uint64(Unigram) || x > uint64(Char) {
				return fmt.Errorf("unknown model_type %d", int64(x))
			}
			t.ModelType = ModelType(x)
			return nil
		case fTrainerByteFallback:
			if typ != protowire.VarintType {
				return wireErr("TrainerSpec.byte_fallback", typ, protowire.VarintType)
			}
			t.ByteFallback = x != 0
			return nil
		case fTrainerVocabSize:
			i32, name = &t.VocabSize, "TrainerSpec.vocab_size"
		case fTrainerUnkID:
			i32, name = &t.UnkID, "TrainerSpec.unk_id"
		case fTrainerBosID:
			i32, name = &t.BosID, "TrainerSpec.bos_id"
		case fTrainerEosID:
			i32, name = &t.EosID, "TrainerSpec.eos_id"
		case fTrainerPadID:
			i32, name = &t.PadID, "TrainerSpec.pad_id"
		case fTrainerUnkPiece:
			str, name = &t.UnkPiece, "TrainerSpec.unk_piece"
		case fTrainerBosPiece:
			str, name = &t.BosPiece, "TrainerSpec.bos_piece"
		case fTrainerEosPiece:
			str, name = &t.EosPiece, "TrainerSpec.eos_piece"
		case fTrainerPadPiece:
			str, name = &t.PadPiece, "TrainerSpec.pad_piece"
		default:
			return nil
		}
		if i32 != nil {
			if typ != protowire.VarintType {
				return wireErr(name, typ, protowire.VarintType)
			}
			// int32 is sign-extended to 64 bits on the wire.
			*i32 = int32(x)
			return nil
		}
		if typ != protowire.BytesType {
			return wireErr(name, typ, protowire.BytesType)
		}
		*str = string(v)
		return nil
	})
}

func parseNormalizer(b []byte, n *NormalizerSpec) error {
	return walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		var flag *bool
		var name string
		switch num {
		case fNormName:
			if typ != protowire.BytesType {
				return wireErr("NormalizerSpec.name", typ, protowire.BytesType)
			}
			n.Name = string(v)
			return nil
		case fNormCharsmap:
			if typ != protowire.BytesType {
				return wireErr("NormalizerSpec.precompiled_charsmap", typ, protowire.BytesType)
			}
			n.PrecompiledCharsmap = append([]byte(nil), v...)
			return nil
		case fNormAddDummyPrefix:
			flag, name = &n.AddDummyPrefix, "NormalizerSpec.add_dummy_prefix"
		case fNormRemoveExtraWS:
			flag, name = &n.RemoveExtraWhitespaces, "NormalizerSpec.remove_extra_whitespaces"
		case fNormEscapeWS:
			flag, name = &n.EscapeWhitespaces, "NormalizerSpec.escape_whitespaces"
		default:
			return nil
		}
		if typ != protowire.VarintType {
			return wireErr(name, typ, protowire.VarintType)
		}
		*flag = x != 0
		return nil
	})
}

// Special pieces as sentencepiece names them when the trainer spec leaves
// them empty.
const (
	defaultUnkPiece = "<unk>"
	defaultBosPiece = "<s>"
	defaultEosPiece = "</s>"
	defaultPadPiece = "<pad>"
)

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// check validates the model and computes the special ids.
func (m *Model) check() error {
	n := len(m.Pieces)
	if n == 0 {
		return errors.New("model has no pieces")
	}
	// sentencepiece keeps two namespaces: normal-like pieces (NORMAL,
	// USER_DEFINED, UNUSED) and reserved ones (UNKNOWN, CONTROL, BYTE);
	// a piece may appear once in each.
	normal := make(map[string]int, n)
	reserved := make(map[string]int)
	unk := -1
	var bytesFound [256]bool
	for i, p := range m.Pieces {
		if p.Piece == "" {
			return fmt.Errorf("piece %d is empty", i)
		}
		ns := reserved
		if p.Type == Normal || p.Type == UserDefined || p.Type == Unused {
			ns = normal
		}
		if j, dup := ns[p.Piece]; dup {
			return fmt.Errorf("piece %d %q duplicates piece %d", i, p.Piece, j)
		}
		ns[p.Piece] = i
		switch p.Type {
		case Unknown:
			if unk >= 0 {
				return fmt.Errorf("piece %d %q is a second UNKNOWN piece (the first is %d)", i, p.Piece, unk)
			}
			unk = i
		case Byte:
			if !m.Trainer.ByteFallback {
				return fmt.Errorf("byte piece %d %q found although byte_fallback is false", i, p.Piece)
			}
			c, ok := pieceByte(p.Piece)
			if !ok {
				return fmt.Errorf("byte piece %d %q is not of the form <0xHH>", i, p.Piece)
			}
			bytesFound[c] = true
		}
	}
	if unk < 0 {
		return errors.New("model has no UNKNOWN piece")
	}
	if m.Trainer.ByteFallback {
		for c, ok := range bytesFound {
			if !ok {
				return fmt.Errorf("byte_fallback is set but byte piece <0x%02X> is missing", c)
			}
		}
	}
	t := &m.Trainer
	if t.UnkID < 0 || int(t.UnkID) >= n {
		return fmt.Errorf("trainer_spec.unk_id %d is outside the vocabulary [0, %d)", t.UnkID, n)
	}
	for _, f := range []struct {
		name string
		id   int32
	}{{"bos_id", t.BosID}, {"eos_id", t.EosID}, {"pad_id", t.PadID}} {
		if f.id < -1 || int(f.id) >= n {
			return fmt.Errorf("trainer_spec.%s %d is outside the vocabulary [0, %d) and not -1", f.name, f.id, n)
		}
	}
	// Like SentencePieceProcessor.{unk,bos,eos,pad}_id: look the special
	// piece up; it counts only with the right type.
	lookup := func(piece string, want PieceType) int {
		id, ok := reserved[piece]
		if !ok {
			id, ok = normal[piece]
		}
		if !ok || m.Pieces[id].Type != want {
			return -1
		}
		return id
	}
	m.unk = lookup(orDefault(t.UnkPiece, defaultUnkPiece), Unknown)
	m.bos = lookup(orDefault(t.BosPiece, defaultBosPiece), Control)
	m.eos = lookup(orDefault(t.EosPiece, defaultEosPiece), Control)
	m.pad = lookup(orDefault(t.PadPiece, defaultPadPiece), Control)
	return nil
}

// pieceByte parses a byte piece "<0xHH>" (upper-case hex, as sentencepiece
// writes and accepts it).
func pieceByte(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	var c byte
	for _, h := range []byte(s[3:5]) {
		switch {
		case '0' <= h && h <= '9':
			c = c<<4 | (h - '0')
		case 'A' <= h && h <= 'F':
			c = c<<4 | (h - 'A' + 10)
		default:
			return 0, false
		}
	}
	return c, true
}

// VocabSize is the number of pieces, which is what sentencepiece and
// NeMo's SentencePieceTokenizer report as the vocabulary size.
func (m *Model) VocabSize() int { return len(m.Pieces) }

// UnkID returns the id of the unknown piece as SentencePieceProcessor
// reports it: the id of trainer_spec.unk_piece (default "<unk>") when that
// piece has type UNKNOWN, else -1.
func (m *Model) UnkID() int { return m.unk }

// BosID returns the id of trainer_spec.bos_piece (default "<s>") when it
// is a CONTROL piece, else -1, as SentencePieceProcessor.bos_id does.
func (m *Model) BosID() int { return m.bos }

// EosID returns the id of trainer_spec.eos_piece (default "</s>") when it
// is a CONTROL piece, else -1.
func (m *Model) EosID() int { return m.eos }

// PadID returns the id of trainer_spec.pad_piece (default "<pad>") when it
// is a CONTROL piece, else -1.
func (m *Model) PadID() int { return m.pad }

// SpecialPieces returns the unk, bos, eos and pad pieces with the
// sentencepiece defaults applied.
func (m *Model) SpecialPieces() (unk, bos, eos, pad string) {
	t := &m.Trainer
	return orDefault(t.UnkPiece, defaultUnkPiece), orDefault(t.BosPiece, defaultBosPiece),
		orDefault(t.EosPiece, defaultEosPiece), orDefault(t.PadPiece, defaultPadPiece)
}

// Info describes the model for a NeMo 2.0 context: a
// SentencePieceTokenizer whose model_path is name, a file directly in
// context/. It lists no files; see [SentencePieceFile] and
// [SentencePieceBytes].
func (m *Model) Info(name string, legacy bool) *Info {
	return &Info{
		Library:   SentencePiece,
		Class:     SentencePieceClass,
		Arg:       "model_path",
		Path:      name,
		ModelType: m.Trainer.ModelType.String(),
		VocabSize: len(m.Pieces),
		MaxID:     len(m.Pieces) - 1,
		BOS:       m.bos,
		EOS:       m.eos,
		PAD:       m.pad,
		UNK:       m.unk,
		Legacy:    legacy,
	}
}

// SentencePieceFile reads and checks the SentencePiece model at path and
// describes it for a NeMo 2.0 context, where it keeps its base name (as
// NeMo's artifact copy does: a .nemo's hashed "<hash>_tokenizer.model"
// stays so). The bytes checked are the bytes later written by
// [Info.WriteFiles]. legacy is NeMo 1's tokenizer.sentencepiece_legacy.
func SentencePieceFile(path string, legacy bool) (*Info, error) {
	data, err := readRegular(path, MaxModelSize)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece model: %w", err)
	}
	return SentencePieceBytes(data, filepath.Base(path), path, legacy)
}

// SentencePieceBytes checks a SentencePiece model held in memory, such as
// a .nemo artifact, and describes it for a NeMo 2.0 context under name.
// source names where the bytes came from, for messages.
func SentencePieceBytes(data []byte, name, source string, legacy bool) (*Info, error) {
	if err := checkRelName(name); err != nil || strings.Contains(name, "/") {
		return nil, fmt.Errorf("sentencepiece model %s: %q is not a plain file name", source, name)
	}
	m, err := ParseModel(data)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece model %s: %w", source, err)
	}
	in := m.Info(name, legacy)
	in.Files = []File{{
		Name: name, Source: source, Size: int64(len(data)),
		open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
	}}
	return in, nil
}
