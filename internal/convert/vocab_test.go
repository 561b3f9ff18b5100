package convert

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// nemo2VocabSize reads context/ as NeMo 2 does and sizes the embedding the
// way GPTConfig.configure_model does for a run at tensor parallel size
// TP: the recorded vocab_size as is, else the tokenizer's vocabulary padded
// by nemo.lightning.base.get_vocab_size (to a multiple of
// make_vocab_size_divisible_by × TP). It prints both sizes, from io.json
// and from model.yaml, and what NeMo 2 would compute with vocab_size unset.
const nemo2VocabSize = `
import json, os, sys, yaml
import sentencepiece as spm
out, tp = sys.argv[1], int(sys.argv[2])
ctx = os.path.join(out, "context")

def get_vocab_size(tp, vocab_size, make_vocab_size_divisible_by):
    multiple = make_vocab_size_divisible_by * tp
    return ((vocab_size + multiple - 1) // multiple) * multiple

def configure(vocab_size, divisible, tokenizer_vocab):
    if vocab_size is not None:
        return vocab_size
    return get_vocab_size(tp, tokenizer_vocab, divisible)

# io.json: the explicit arguments of the config at <root>.model.config.
doc = json.load(open(os.path.join(ctx, "io.json")))
args = {}
for o in doc["objects"].values():
    for name, v in o.get("items", []):
        for p in v.get("paths", []) if isinstance(v, dict) else []:
            if p.startswith("<root>.model.config.") and p.count(".") == 3 and v.get("type") == "leaf":
                args[p.rsplit(".", 1)[1]] = v["value"]
m = yaml.safe_load(open(os.path.join(ctx, "model.yaml")))
cfg, tok = m["config"], m["tokenizer"]
sp = spm.SentencePieceProcessor(model_file=os.path.join(ctx, tok["model_path"]))
n = sp.get_piece_size()
print(json.dumps({
    "io_json": configure(args.get("vocab_size"), args.get("make_vocab_size_divisible_by", 128), n),
    "model_yaml": configure(cfg.get("vocab_size"), cfg["make_vocab_size_divisible_by"], n),
    "unset": configure(None, cfg["make_vocab_size_divisible_by"], n),
}))
`

// TestVocabSizeAtAnyTP converts a checkpoint whose embedding is padded for
// TP 1 (320 tokens, 384 rows) and shows that a NeMo 2 run at TP 2 sizes
// the embedding from the recorded vocab_size as stored, where it would
// otherwise compute 512 rows and refuse the checkpoint.
func TestVocabSizeAtAnyTP(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	in := filepath.Join("..", "..", "examples", "tiny-llama.nemo")
	if _, err := Run(context.Background(), Options{Input: in, Output: out, Target: &TargetOptions{ModelID: "auto"}}); err != nil {
		t.Fatal(err)
	}
	src, err := Open(t.Context(), in, nemo1.Options{})
	if err != nil {
		t.Fatal(err)
	}
	emb, _ := src.Weights.Tensor(embeddingKey(src))
	src.Close()
	rows := int(emb.Shape[0])
	for _, tp := range []string{"1", "2", "8"} {
		var got struct{ IOJSON, ModelYAML, Unset int }
		res := oracle.Run(t, []string{"yaml", "sentencepiece"}, nemo2VocabSize, out, tp)
		if err := json.Unmarshal(res, &struct {
			IOJSON    *int `json:"io_json"`
			ModelYAML *int `json:"model_yaml"`
			Unset     *int `json:"unset"`
		}{&got.IOJSON, &got.ModelYAML, &got.Unset}); err != nil {
			t.Fatalf("%v: %s", err, res)
		}
		if got.IOJSON != rows || got.ModelYAML != rows {
			t.Errorf("TP %s: NeMo 2 sizes the embedding %d (io.json) and %d (model.yaml) rows; the checkpoint stores %d", tp, got.IOJSON, got.ModelYAML, rows)
		}
		if tp == "2" && got.Unset == rows {
			t.Errorf("TP 2 without vocab_size also gives %d rows: the fixture does not show the padding problem", rows)
		}
	}
}
