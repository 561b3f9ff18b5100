package dcp

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkParseLargeIndex parses a .metadata of 200,000 chunk entries, the
// size class of Nemotron-4 340B at TP=8 with optimizer state. Our writer
// does not memoize, so the file is about three times torch's (89 MB against
// 28 MB); B/op is what the parse allocates, MiB-index-live what the parsed
// index keeps.
func BenchmarkParseLargeIndex(b *testing.B) {
	const tensors, chunksPer = 5000, 40
	data := largeIndex(b, tensors, chunksPer)
	b.SetBytes(int64(len(data)))
	b.ReportMetric(float64(len(data))/(1<<20), "MiB-metadata")
	b.ResetTimer()
	for b.Loop() {
		got, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if len(got.Storage) != tensors*chunksPer {
			b.Fatalf("parsed %d storage entries, want %d", len(got.Storage), tensors*chunksPer)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(liveAfterParse(b, data))/(1<<20), "MiB-index-live")
}

// liveAfterParse returns the heap a parsed index keeps alive: the heap
// with it, less the heap once it is dropped.
func liveAfterParse(b *testing.B, data []byte) int64 {
	m, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	var with, without runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&with)
	runtime.KeepAlive(m)
	runtime.GC()
	runtime.ReadMemStats(&without)
	return int64(with.HeapAlloc) - int64(without.HeapAlloc)
}

// largeIndex returns a .metadata pickle of tensors × chunksPer chunks.
func largeIndex(b *testing.B, tensors, chunksPer int) []byte {
	m := &Metadata{}
	props := TensorProperties{DType: "bfloat16"}
	for t := range tensors {
		fqn := fmt.Sprintf("optimizer.state.exp_avg.decoder.layers.%d.mlp.linear_fc1.weight", t)
		for c := range chunksPer {
			info := StorageInfo{RelativePath: fmt.Sprintf("__%d_0.distcp", c), Offset: int64(t) * 4096, Length: 4096}
			chunk := Chunk{Offsets: []int64{int64(c) * 64, 0}, Sizes: []int64{64, 32}}
			if err := m.AddTensorChunk(fqn, props, []int64{int64(chunksPer) * 64, 32}, chunk, info); err != nil {
				b.Fatal(err)
			}
		}
	}
	data, err := Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return data
}
