package models

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/pyrepr"
)

// pyRepr formats a default the way testdata/extract_configs.py writes it.
func pyRepr(t *testing.T, v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(v)
	case float64:
		return pyrepr.Float(v)
	case string:
		if strings.ContainsAny(v, `'"\`) {
			t.Fatalf("string %q needs a fuller repr", v)
		}
		return "'" + v + "'"
	case fiddle.Ref:
		return "ref:" + v.String()
	case *fiddle.List:
		var parts []string
		for _, x := range v.Items {
			parts = append(parts, pyRepr(t, x))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *fiddle.Tuple:
		var parts []string
		for _, x := range v.Items {
			parts = append(parts, pyRepr(t, x))
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	t.Fatalf("unexpected default %T", v)
	return ""
}

// TestConfigClassesMatchSources compares every config class, field by
// field, in order, with the list extract_configs.py extracted from NeMo's
// and Megatron-Core's sources.
func TestConfigClassesMatchSources(t *testing.T) {
	classes := ConfigClasses()
	files, err := filepath.Glob("testdata/configs/*.tsv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no extracted configs: %v", err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".tsv")
		var cls *Class
		for path, c := range classes {
			if strings.HasSuffix(path, "."+name) {
				cls = c
			}
		}
		if cls == nil {
			t.Errorf("%s: no such class in the registry", name)
			continue
		}
		seen[cls.Name()] = true
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		i := 0
		for sc.Scan() {
			fieldName, def, _ := strings.Cut(sc.Text(), "\t")
			if i >= len(cls.Params) {
				t.Errorf("%s: field %d %s missing", name, i, fieldName)
				i++
				continue
			}
			p := cls.Params[i]
			if p.Name != fieldName {
				t.Errorf("%s: field %d is %s, want %s", name, i, p.Name, fieldName)
			} else if got := pyRepr(t, p.Default); got != def {
				t.Errorf("%s.%s default %s, want %s", name, fieldName, got, def)
			}
			i++
		}
		f.Close()
		if i != len(cls.Params) {
			t.Errorf("%s: %d fields, sources have %d", name, len(cls.Params), i)
		}
	}
	for path := range classes {
		if !seen[path] {
			t.Errorf("%s has no extracted field list", path)
		}
	}
}

func TestRegistry(t *testing.T) {
	want := map[string]string{
		"meta-llama/Llama-2-7b-hf":       "nemo.collections.llm.gpt.model.llama.LlamaModel nemo.collections.llm.gpt.model.llama.Llama2Config7B",
		"meta-llama/Llama-2-13b-hf":      "nemo.collections.llm.gpt.model.llama.LlamaModel nemo.collections.llm.gpt.model.llama.Llama2Config13B",
		"meta-llama/Llama-2-70b-hf":      "nemo.collections.llm.gpt.model.llama.LlamaModel nemo.collections.llm.gpt.model.llama.Llama2Config70B",
		"meta-llama/Meta-Llama-3-8B":     "nemo.collections.llm.gpt.model.llama.LlamaModel nemo.collections.llm.gpt.model.llama.Llama3Config8B",
		"meta-llama/Meta-Llama-3-70B":    "nemo.collections.llm.gpt.model.llama.LlamaModel nemo.collections.llm.gpt.model.llama.Llama3Config70B",
		"mistralai/Mixtral-8x7B-v0.1":    "nemo.collections.llm.gpt.model.mixtral.MixtralModel nemo.collections.llm.gpt.model.mixtral.MixtralConfig8x7B",
		"mistralai/Mixtral-8x22B-v0.1":   "nemo.collections.llm.gpt.model.mixtral.MixtralModel nemo.collections.llm.gpt.model.mixtral.MixtralConfig8x22B",
		"mistralai/Mistral-7B-v0.1":      "nemo.collections.llm.gpt.model.mistral.MistralModel nemo.collections.llm.gpt.model.mistral.MistralConfig7B",
		"nvidia/nemotron-3-8b-base-4k":   "nemo.collections.llm.gpt.model.nemotron.NemotronModel nemo.collections.llm.gpt.model.nemotron.Nemotron3Config8B",
		"nemotron4-22b":                  "nemo.collections.llm.gpt.model.nemotron.NemotronModel nemo.collections.llm.gpt.model.nemotron.Nemotron3Config22B",
		"nemotron4-15b":                  "nemo.collections.llm.gpt.model.nemotron.NemotronModel nemo.collections.llm.gpt.model.nemotron.Nemotron4Config15B",
		"nemotron4-340b":                 "nemo.collections.llm.gpt.model.nemotron.NemotronModel nemo.collections.llm.gpt.model.nemotron.Nemotron4Config340B",
		"google/gemma-2-2b":              "nemo.collections.llm.gpt.model.gemma2.Gemma2Model nemo.collections.llm.gpt.model.gemma2.Gemma2Config2B",
		"google/gemma-2-9b":              "nemo.collections.llm.gpt.model.gemma2.Gemma2Model nemo.collections.llm.gpt.model.gemma2.Gemma2Config9B",
		"google/gemma-2-27b":             "nemo.collections.llm.gpt.model.gemma2.Gemma2Model nemo.collections.llm.gpt.model.gemma2.Gemma2Config27B",
		"THUDM/chatglm2-6b":              "nemo.collections.llm.gpt.model.chatglm.ChatGLMModel nemo.collections.llm.gpt.model.chatglm.ChatGLM2Config6B",
		"THUDM/chatglm3-6b":              "nemo.collections.llm.gpt.model.chatglm.ChatGLMModel nemo.collections.llm.gpt.model.chatglm.ChatGLM3Config6B",
		"baichuan-inc/Baichuan2-7B-Base": "nemo.collections.llm.gpt.model.baichuan.Baichuan2Model nemo.collections.llm.gpt.model.baichuan.Baichuan2Config7B",
		"bigcode/starcoder":              "nemo.collections.llm.gpt.model.starcoder.StarcoderModel nemo.collections.llm.gpt.model.starcoder.StarcoderConfig15B",
		"nemotronh4b":                    "nemo.collections.llm.gpt.model.ssm.MambaModel nemo.collections.llm.gpt.model.ssm.NemotronHConfig4B",
		"nemotronh8b":                    "nemo.collections.llm.gpt.model.ssm.MambaModel nemo.collections.llm.gpt.model.ssm.NemotronHConfig8B",
		"nemotronh47b":                   "nemo.collections.llm.gpt.model.ssm.MambaModel nemo.collections.llm.gpt.model.ssm.NemotronHConfig47B",
		"nemotronh56b":                   "nemo.collections.llm.gpt.model.ssm.MambaModel nemo.collections.llm.gpt.model.ssm.NemotronHConfig56B",
	}
	ms := Models()
	if len(ms) != len(want) {
		t.Errorf("%d models, want %d", len(ms), len(want))
	}
	for _, m := range ms {
		if got := m.Class.Name() + " " + m.Config.Name(); got != want[m.ID] {
			t.Errorf("%s: %s, want %s", m.ID, got, want[m.ID])
		}
		l, err := Lookup(m.ID)
		if err != nil || l.Config.Name() != m.Config.Name() {
			t.Errorf("Lookup(%s) = %v, %v", m.ID, l.Config, err)
		}
	}
	if _, err := Lookup("meta-llama/Llama-3.1-8B"); err == nil || !strings.Contains(err.Error(), "auto") {
		t.Errorf("unknown id: %v", err)
	}
	// No shared mutable state: changing one caller's class leaves others'.
	m1, _ := Lookup("nemotron4-15b")
	m1.Config.Params[0].Default = 99
	m2, _ := Lookup("nemotron4-15b")
	if m2.Config.Params[0].Default == 99 {
		t.Error("registry classes are shared between callers")
	}
}

func TestConfigSet(t *testing.T) {
	m, _ := Lookup("meta-llama/Meta-Llama-3-8B")
	c := NewConfig(m.Config)
	for _, n := range []string{"fp8", "params_dtype", "bf16", "fp8_amax_history_len"} {
		if err := c.Set(n, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Set("bf16", true); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range c.Args {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "bf16,params_dtype,fp8,fp8_amax_history_len" {
		t.Errorf("explicit args in order %s", got)
	}
	if v, _ := c.Value("bf16"); v != true {
		t.Errorf("bf16 = %v", v)
	}
	if v, _ := c.Value("rotary_base"); v != 500000 {
		t.Errorf("rotary_base = %v", v)
	}
	if err := c.Set("no_such_field", 1); err == nil {
		t.Error("unknown field accepted")
	}
	if n := len(c.All()); n != len(m.Config.Params) {
		t.Errorf("All() has %d fields, class %d", n, len(m.Config.Params))
	}
	f := c.Fiddle()
	if f.Fn.String() != m.Config.Name() || len(f.Args) != 4 {
		t.Errorf("Fiddle() = %+v", f)
	}
}
