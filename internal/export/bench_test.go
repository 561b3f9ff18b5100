package export

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// BenchmarkExport exports a ~180 MB Llama-shaped NeMo 1 checkpoint in each
// backend; bench/run.sh measures multi-GB ones against cat, with peak RSS.
func BenchmarkExport(b *testing.B) {
	for _, backend := range []string{"torch_dist", "zarr"} {
		b.Run(backend, func(b *testing.B) {
			dir := b.TempDir()
			oracle.Run(b, []string{"torch", "zarr"}, `
import sys, runpy
sys.argv = ["nemo1fixture.py"] + sys.argv[1:]
runpy.run_module("nemo1fixture", run_name="__main__")
`, dir, "--arch", "llama", "--backend", backend, "--form", "nemo", "--dims", "2,1024,2816,8,8,32000", "--no-expected")
			input := filepath.Join(dir, "model.nemo")
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
