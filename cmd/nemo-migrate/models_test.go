package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestModels(t *testing.T) {
	code, stdout, stderr := runCmd(t, "models")
	if code != 0 {
		t.Fatalf("models: code %d: %s", code, stderr)
	}
	for _, want := range []string{
		"meta-llama/Meta-Llama-3-8B", "llama.Llama3Config8B", "8.03B",
		"nemotron4-22b", "nemotron.Nemotron3Config22B",
		"mistralai/Mixtral-8x7B-v0.1", "mixtral.MixtralModel", "46.70B",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if lines := strings.Count(stdout, "\n"); lines < 13 {
		t.Errorf("%d lines", lines)
	}

	code, stdout, stderr = runCmd(t, "models", "--json")
	if code != 0 {
		t.Fatalf("models --json: code %d: %s", code, stderr)
	}
	var out struct {
		Schema int         `json:"schema"`
		Models []modelInfo `json:"models"`
		Auto   []struct {
			Name, ConfigClass string
		} `json:"auto"`
		Export []string `json:"export"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	infos := out.Models
	if out.Schema != jsonSchema || len(out.Auto) == 0 || !slices.Contains(out.Export, "LlamaForCausalLM") {
		t.Errorf("models --json: schema %d, %d auto families, export %v", out.Schema, len(out.Auto), out.Export)
	}
	if len(infos) != 23 {
		t.Errorf("%d models", len(infos))
	}
	byID := map[string]modelInfo{}
	for _, m := range infos {
		byID[m.ID] = m
	}
	if m := byID["meta-llama/Llama-2-7b-hf"]; m.Parameters != 6738415616 || m.NumQueryGroups != 32 ||
		m.ConfigClass != "nemo.collections.llm.gpt.model.llama.Llama2Config7B" {
		t.Errorf("Llama-2-7b: %+v", m)
	}
	if m := byID["mistralai/Mixtral-8x22B-v0.1"]; m.NumMoEExperts != 8 || m.NumLayers != 56 {
		t.Errorf("Mixtral-8x22B: %+v", m)
	}

	if code, _, stderr := runCmd(t, "models", "extra"); code != 2 || !strings.Contains(stderr, "extra") {
		t.Errorf("extra argument: code %d, %q", code, stderr)
	}
	if code, stdout, _ := runCmd(t, "models", "-h"); code != 0 || !strings.Contains(stdout, "Usage: nemo-migrate models") {
		t.Errorf("-h: code %d", code)
	}
}
