package convert

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkConvert converts a ~180 MB Llama-shaped checkpoint in each
// backend; bench/run.sh measures multi-GB ones against cat and torch.
func BenchmarkConvert(b *testing.B) {
	for _, backend := range []string{"torch_dist", "zarr"} {
		b.Run(backend, func(b *testing.B) {
			_, input := writeFixture(b, "--arch", "llama", "--backend", backend, "--form", "nemo",
				"--dims", "2,1024,2816,8,8,32000", "--no-expected")
			st, err := os.Stat(input)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out := filepath.Join(b.TempDir(), "out")
				if _, err := Run(context.Background(), Options{Input: input, Output: out}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
