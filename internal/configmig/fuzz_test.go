package configmig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
)

// FuzzMigrate migrates arbitrary YAML: Migrate, WritePython and JSON must
// never panic, the JSON must be valid, and no key may be both mapped and
// listed as unmapped.
func FuzzMigrate(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("model: {num_layers: 2, optim: {sched: {name: CosineAnnealing, warmup_ratio: x}}}\n"))
	f.Add([]byte("trainer: {precision: [1]}\nmodel: {peft: {peft_scheme: lora, lora_tuning: {target_modules: 3}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		raw, err := omegaconf.Parse(data)
		if err != nil {
			return
		}
		m, err := Migrate("fuzz.yaml", raw, nil)
		if err != nil {
			return
		}
		write(t, "fuzz.yaml", m)
		checkExclusive(t, "fuzz.yaml", m)
	})
}
