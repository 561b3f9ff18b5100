package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
	"github.com/nemo-migrate/nemo-migrate/internal/safetensors"
	"github.com/nemo-migrate/nemo-migrate/internal/verify"
)

const example = "../../examples/tiny-llama.nemo"

func openExample(t *testing.T) *Source {
	t.Helper()
	s, err := Open(context.Background(), example, nemo1.Options{SpoolDir: t.TempDir()}, convertOpts())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// readAll returns a source tensor's elements in row-major order.
func readAll(t *testing.T, tn *distckpt.Tensor) []byte {
	t.Helper()
	rc, err := tn.OpenRowMajor()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExportExample exports the shipped example and checks tensors against
// the source, restating Megatron's layouts as array indexing: linear_qkv
// is [layers][groups][heads/groups + 2][kv][hidden], fc1 is
// [layers][gate, up][ffn][hidden].
func TestExportExample(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hf")
	res, err := Run(context.Background(), Options{Input: example, Output: out, ShardSize: 100 << 10})
	if err != nil {
		t.Fatal(err)
	}
	src := openExample(t)
	a := src.Arch
	var idx safetensors.Index
	b, err := os.ReadFile(filepath.Join(out, safetensors.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.WeightMap) != res.Tensors || len(res.Files) < 3 {
		t.Fatalf("index maps %d tensors, result %d; files %v", len(idx.WeightMap), res.Tensors, res.Files)
	}
	tensor := func(name string) []byte {
		t.Helper()
		file, ok := idx.WeightMap[name]
		if !ok {
			t.Fatalf("no %s in the index", name)
		}
		data, err := os.ReadFile(filepath.Join(out, file))
		if err != nil {
			t.Fatal(err)
		}
		f, err := safetensors.Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		tn, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("%s not in %s", name, file)
		}
		return data[f.HeaderSize+tn.Begin : f.HeaderSize+tn.End]
	}
	const item = 2 // bfloat16
	H, kv, per, G := int64(a.Hidden), int64(a.KVChannels), int64(a.Heads/a.Groups), int64(a.Groups)
	qkv := readAll(t, src.byName["decoder.layers.self_attention.linear_qkv.weight"])
	row := H * item
	for l := int64(0); l < int64(a.NumLayers); l++ {
		var q, k, v []byte
		for g := int64(0); g < G; g++ {
			at := func(head, r int64) int64 { return (((l*G+g)*(per+2)+head)*kv + r) * row }
			for h := int64(0); h < per; h++ {
				q = append(q, qkv[at(h, 0):at(h, kv)]...)
			}
			k = append(k, qkv[at(per, 0):at(per, kv)]...)
			v = append(v, qkv[at(per+1, 0):at(per+1, kv)]...)
		}
		for name, want := range map[string][]byte{"q": q, "k": k, "v": v} {
			if got := tensor(modelLayer(l, "self_attn."+name+"_proj.weight")); !bytes.Equal(got, want) {
				t.Errorf("layer %d %s_proj differs from the source's rows", l, name)
			}
		}
	}
	fc1 := readAll(t, src.byName["decoder.layers.mlp.linear_fc1.weight"])
	F := int64(a.FFN)
	half := F * row
	for l := int64(0); l < int64(a.NumLayers); l++ {
		base := l * 2 * half
		if !bytes.Equal(tensor(modelLayer(l, "mlp.gate_proj.weight")), fc1[base:base+half]) ||
			!bytes.Equal(tensor(modelLayer(l, "mlp.up_proj.weight")), fc1[base+half:base+2*half]) {
			t.Errorf("layer %d gate/up differ from fc1's halves", l)
		}
	}
	emb := readAll(t, src.byName["embedding.word_embeddings.weight"])
	vocab := int64(src.Tokenizer.VocabSize)
	if got := tensor("model.embed_tokens.weight"); !bytes.Equal(got, emb[:vocab*row]) {
		t.Errorf("embedding: %d bytes, want the first %d rows", len(got), vocab)
	}
	var cfg map[string]any
	b, _ = os.ReadFile(filepath.Join(out, "config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["vocab_size"] != float64(vocab) || cfg["num_key_value_heads"] != float64(a.Groups) || cfg["architectures"].([]any)[0] != "LlamaForCausalLM" {
		t.Errorf("config.json %v", cfg)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "generation_config.json"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := Run(context.Background(), Options{Input: example, Output: out}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second run into a full output: %v", err)
	}
}

func modelLayer(l int64, rest string) string { return fmt.Sprintf("model.layers.%d.%s", l, rest) }

// TestRefusals: a source whose math the chosen class would not compute, or
// a tensor with no place in it, fails before anything is written.
func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		field string
		value any
		want  string
	}{
		{"rotary_interleaved", true, "rotary_interleaved"},
		{"qk_layernorm", true, "q/k layernorm"},
		{"softmax_scale", 0.5, "softmax_scale"},
		{"apply_residual_connection_post_layernorm", true, "apply_residual_connection_post_layernorm"},
		{"rotary_percent", 0.5, "rotary_percent"},
		{"normalization", "LayerNorm", "RMSNorm"},
	} {
		s := openExample(t)
		if err := s.Config.Set(c.field, c.value); err != nil {
			t.Fatal(err)
		}
		a, err := s.Config.Arch()
		if err != nil {
			t.Fatal(err)
		}
		a.VocabSize = s.Arch.VocabSize
		s.Arch = a
		_, err = plan(s, Options{Output: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s = %v: %v", c.field, c.value, err)
		}
	}

	// A layer pattern makes it a hybrid: only NemotronH is tried, and it
	// says why it does not fit; no GPT class is offered.
	s := openExample(t)
	s.Arch.Pattern = "M*-M"
	if _, err := plan(s, Options{Output: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "NemotronHForCausalLM: needs an ungated") ||
		strings.Contains(err.Error(), "LlamaForCausalLM") {
		t.Errorf("hybrid: %v", err)
	}

	s = openExample(t)
	extra := &distckpt.Tensor{Key: "model.decoder.layers.mlp.extra.weight", DType: "bfloat16", Shape: []int64{2, 4}}
	s.Weights.Tensors = append(s.Weights.Tensors, extra)
	s.byName["decoder.layers.mlp.extra.weight"] = extra
	if _, err := plan(s, Options{}); err == nil || !strings.Contains(err.Error(), "has no place") {
		t.Errorf("unmapped tensor: %v", err)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hf")
	p, err := DryRun(context.Background(), Options{Input: example, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("dry run created %s", out)
	}
	if p.Architecture != "LlamaForCausalLM" || len(p.Tensors) == 0 || p.Files[0].Name != safetensors.SingleName {
		t.Errorf("plan %+v", p)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 0 {
		t.Errorf("dry run left %v", entries)
	}
}

func convertOpts() convert.TargetOptions { return convert.TargetOptions{} }

// TestCast: --dtype float32 widens bfloat16 exactly (its bits are the top
// half of the float32's), through every transform.
func TestCast(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hf")
	if _, err := Run(context.Background(), Options{Input: example, Output: out, DType: "float32"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, safetensors.SingleName))
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	src := openExample(t)
	vocab := int64(src.Tokenizer.VocabSize)
	emb := readAll(t, src.byName["embedding.word_embeddings.weight"])
	tn, ok := f.Tensor("model.embed_tokens.weight")
	if !ok || tn.DType != "F32" || tn.Size() != vocab*int64(src.Arch.Hidden)*4 {
		t.Fatalf("embedding %+v", tn)
	}
	got := data[f.HeaderSize+tn.Begin : f.HeaderSize+tn.End]
	for i := int64(0); i < tn.Size()/4; i++ {
		if got[4*i] != 0 || got[4*i+1] != 0 || got[4*i+2] != emb[2*i] || got[4*i+3] != emb[2*i+1] {
			t.Fatalf("element %d: %x from bf16 %x", i, got[4*i:4*i+4], emb[2*i:2*i+2])
		}
	}
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(out, "config.json"))
	json.Unmarshal(b, &cfg)
	if cfg["torch_dtype"] != "float32" {
		t.Errorf("torch_dtype %v", cfg["torch_dtype"])
	}
}

// TestVerify: verify passes an export, finds a flipped bit in the tensor
// that holds it, and compares a cast export with the cast source.
func TestVerify(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hf")
	if _, err := Run(context.Background(), Options{Input: example, Output: out, ShardSize: 100 << 10}); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), out, example, convertOpts(), verify.Options{})
	if err != nil || !rep.OK() || rep.Compared != rep.Tensors || rep.Tensors == 0 {
		t.Fatalf("clean export: %+v, %v", rep, err)
	}
	// Flip one bit in the middle of layer 1's k_proj.
	var idx safetensors.Index
	b, _ := os.ReadFile(filepath.Join(out, safetensors.IndexName))
	json.Unmarshal(b, &idx)
	const victim = "model.layers.1.self_attn.k_proj.weight"
	path := filepath.Join(out, idx.WeightMap[victim])
	data, _ := os.ReadFile(path)
	f, err := safetensors.Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := f.Tensor(victim)
	data[f.HeaderSize+(tn.Begin+tn.End)/2] ^= 0x10
	os.WriteFile(path, data, 0o644)
	rep, err = Verify(context.Background(), out, example, convertOpts(), verify.Options{})
	if err != nil || len(rep.Findings) != 1 || rep.Findings[0].Key != victim {
		t.Errorf("flipped bit: %+v, %v", rep, err)
	}

	cast := filepath.Join(t.TempDir(), "hf32")
	if _, err := Run(context.Background(), Options{Input: example, Output: cast, DType: "float16"}); err != nil {
		t.Fatal(err)
	}
	rep, err = Verify(context.Background(), cast, example, convertOpts(), verify.Options{})
	if err != nil || !rep.OK() || rep.Compared == 0 || len(rep.Notes) == 0 {
		t.Errorf("cast export: %+v, %v", rep, err)
	}
	os.Remove(filepath.Join(cast, "model.safetensors"))
	if IsHF(cast) {
		t.Error("a directory without weights is not a Hugging Face checkpoint")
	}
}

// TestHFTokenizerSource: a Hugging Face tokenizer directory (here, a
// previous export) is copied as it is, except model files it carries.
func TestHFTokenizerSource(t *testing.T) {
	first := filepath.Join(t.TempDir(), "first")
	if _, err := Run(context.Background(), Options{Input: example, Output: first}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "second")
	res, err := Run(context.Background(), Options{Input: example, Output: out,
		Tokenizer: convert.TargetOptions{TokenizerPath: first, TokenizerLibrary: "huggingface"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"} {
		a, _ := os.ReadFile(filepath.Join(first, f))
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s not copied as it is: %v", f, err)
		}
	}
	if !slices.Contains(res.Files, "tokenizer.model") {
		t.Errorf("files %v: want the directory's tokenizer.model too", res.Files)
	}
	rep, err := Verify(context.Background(), out, example, convertOpts(), verify.Options{})
	if err != nil || !rep.OK() {
		t.Errorf("verify: %+v, %v", rep, err)
	}
}
