package configmig

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
)

// The YAML below is written for these tests in the shape of NeMo 1.0's
// published configs: each keeps only the keys that tell its kind apart.

// TestRefusals checks that each kind of file nemo-migrate does not migrate
// is refused with what was detected and the key that shows it, and that
// the GPT-family configs next to them are not.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name     string
		src      string
		reason   Refusal // 0: migrates
		detected string
		evidence string
	}{
		{"t5 composed by hydra", `
defaults:
  - .@model.encoder: megatron_model_base_config
  - .@model.decoder: megatron_model_base_config
name: megatron_t5
trainer: {devices: 1}
model:
  micro_batch_size: 4
  seq_length: 512
  tokenizer: {library: megatron, type: BertWordPieceCase}
`, NotMigrated, "T5", "defaults"},
		{"t5 with its sections", `
trainer: {devices: 1}
model:
  encoder: {num_layers: 12, hidden_size: 768}
  decoder: {num_layers: 12, hidden_size: 768}
`, NotMigrated, "T5", "model.encoder"},
		{"bart", `
name: megatron_bart
trainer: {devices: 1}
model: {pipeline_model_parallel_split_rank: 0, data: {data_prefix: [a]}}
`, NotMigrated, "BART", "model.pipeline_model_parallel_split_rank: 0"},
		{"ul2", `
name: pretrain
model:
  share_decoder_tokens_head_embeddings: true
  data: {dataset_type: ul2}
`, NotMigrated, "UL2", "model.share_decoder_tokens_head_embeddings: True"},
		{"t5 part", "num_layers: 12\nhidden_size: 768\narch: transformer\nrelative_attention_num_buckets: 32\n",
			NotMigrated, "encoder-decoder part", "arch: transformer"},
		{"bert", "model: {num_layers: 12, hidden_size: 768, bert_binary_head: true, mcore_bert: true}\n", NotMigrated, "BERT", "model.mcore_bert: True"},
		{"bert embedding", "model: {mcore_bert: true, add_pooler: true, global_inbatch_negatives: true}\n", NotMigrated, "BERT embedding", "model.global_inbatch_negatives"},
		{"retro", "model: {num_layers: 2, retro: {retro_num_neighbors: 2}}\n", NotMigrated, "Retro", "model.retro"},
		{"retro fine-tune by name", "name: fine_tune_retro\nmodel: {restore_path: /m/retro.nemo, data: {train_ds: {file_names: [a]}}}\n", NotMigrated, "Retro", "name: fine_tune_retro"},
		{"griffin", "name: megatron_griffin\nmodel: {num_layers: 26, activations_checkpoint_recurrent: false}\n", NotMigrated, "Griffin", "model.activations_checkpoint_recurrent"},
		{"mamba fine-tune", "model: {restore_from_path: /m/h.nemo, hybrid_override_pattern: M-M-M*-}\n", NotMigrated, "Mamba", "model.hybrid_override_pattern: M-M-M*-"},
		{"mamba fine-tune by name", `
name: megatron_mamba
model:
  restore_from_path: /m/mamba.nemo
  peft: {peft_scheme: none}
  data: {train_ds: {file_names: [/d/training.jsonl]}}
`, NotMigrated, "Mamba", "name: megatron_mamba"},
		{"mamba by its checkpoint", "model: {restore_from_path: /ckpt/mamba2-8b.nemo, data: {train_ds: {file_names: [a]}}}\n", NotMigrated, "Mamba", "model.restore_from_path: /ckpt/mamba2-8b.nemo"},
		{"hyena", "model: {num_layers: 2, name: te_gpt_hyena, hyena: {filter_order: 64}}\n", NotMigrated, "Hyena", "model.hyena"},
		{"falcon", "name: megatron_falcon_gpt\nmodel: {num_layers: 32, mcore_customization_config: {new_decoder_architecture: false, parallel_attention: true}}\n",
			NotMigrated, "Falcon", "model.mcore_customization_config"},
		{"p-tuning", "model: {virtual_prompt_style: p-tuning, task_templates: [{taskname: squad}], p_tuning: {encoder_type: mlp}}\n", NotMigrated, "prompt learning", "model.p_tuning"},
		{"adapter tuning", "model: {virtual_prompt_style: no-prompts, task_templates: [{taskname: squad}], adapter_tuning: {adapter_dim: 50}}\n", NotMigrated, "task-template tuning", "model.adapter_tuning"},
		{"ia3 tuning", "name: ia3_tuning\nmodel: {virtual_prompt_style: no-prompts, new_tasks: [squad]}\n", NotMigrated, "task-template tuning", "model.new_tasks"},
		{"gpt reranker", `
model:
  restore_from_path: /m/llama.nemo
  temperature: 0.02
  num_soft_negatives: 0
  peft: {peft_scheme: "mlp_head,lora"}
  data: {train_ds: {file_names: [a]}}
`, NotMigrated, "GPT embedding", "model.num_soft_negatives: 0"},
		{"distillation", "model: {num_layers: 2, kd_teacher_restore_from_path: /m/teacher.nemo, data: {data_prefix: [a]}}\n", NotMigrated, "distillation", "model.kd_teacher_restore_from_path"},
		{"qat", `
trainer: {devices: 8}
model: {restore_from_path: /m/sft.nemo, data: {train_ds: {file_names: [a]}}}
quantization: {algorithm: int4_awq}
`, NotMigrated, "quantization-aware training", "quantization"},
		{"nlp task", "pretrained_model: null\ntrainer: {devices: 1}\nmodel: {language_model: {pretrained_model_name: bert-base-uncased}, head: {num_fc_layers: 2}}\n",
			NotMigrated, "non-Megatron NLP model", "pretrained_model"},
		{"nemo transformer lm", "trainer: {devices: 1}\nmodel:\n  train_ds: {file_name: a.txt}\n  encoder: {library: nemo, num_layers: 6}\n  head: {num_layers: 1}\n",
			NotMigrated, "non-Megatron NLP model", "model.head"},
		{"machine translation", "model:\n  encoder_tokenizer: {library: yttm}\n  encoder: {num_layers: 6}\n  decoder: {num_layers: 6}\n", NotMigrated, "machine translation", "model.encoder_tokenizer"},
		{"asr", `
model:
  sample_rate: 16000
  preprocessor: {_target_: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor}
  optim: {name: adamw}
`, NotMigrated, "speech recognition (ASR)", "model.preprocessor._target_"},
		{"text to image", "model: {micro_batch_size: 8, unet_type: base, unet: {embed_dim: 256}}\n", NotMigrated, "text-to-image", "model.unet"},
		{"bare t5 model_config.yaml", "target: nemo.collections.nlp.models.language_modeling.megatron_t5_model.MegatronT5Model\nnum_layers: 12\ntokenizer: {library: megatron}\n",
			NotMigrated, "T5", "target: nemo.collections.nlp.models.language_modeling.megatron_t5_model.MegatronT5Model"},
		{"bare retro model_config.yaml", "target: nemo.collections.nlp.models.language_modeling.megatron_retro_model.MegatronRetroModel\nnum_layers: 12\n",
			NotMigrated, "Retro", "target"},

		{"ptq", `
inference: {greedy: false}
trainer: {devices: 1}
model: {restore_from_path: /m/llama.nemo, tensor_model_parallel_size: 1}
quantization: {algorithm: fp8, calib_dataset: cnn_dailymail}
export: {save_path: llama.qnemo}
`, NotTraining, "PTQ", "quantization"},
		{"prune", "inference: {greedy: true}\ntrainer: {devices: 1}\nmodel: {restore_from_path: /m/llama.nemo}\nprune: {ffn_hidden_size: 512}\nexport: {save_path: p.nemo}\n",
			NotTraining, "pruning", "prune"},
		{"export", "trainer: {devices: 1}\ngpt_model_file: /m/gpt.nemo\nonnx_model_file: gpt.onnx\nexport_options: {runtime_check: true}\n", NotTraining, "export", "export_options"},
		{"generation", `
inference: {greedy: false, tokens_to_generate: 30}
trainer: {devices: 1, precision: bf16}
tensor_model_parallel_size: -1
gpt_model_file: null
checkpoint_dir: null
prompts: ["Q: How are you?"]
server: false
`, NotTraining, "inference", "inference"},
		{"peft evaluation", `
name: megatron_gpt_peft_eval
trainer: {devices: 1}
exp_manager: {explicit_log_dir: null}
model:
  restore_from_path: /m/gpt.nemo
  peft: {peft_scheme: lora, restore_from_path: /m/lora.nemo}
  data: {test_ds: {file_names: [a.jsonl]}}
inference: {greedy: true, outfile_path: out.jsonl}
`, NotTraining, "inference", "inference"},
		{"validation", "trainer: {devices: 1}\nmicro_batch_size: 4\ngpt_model_file: /m/gpt.nemo\ncheckpoint_dir: null\n", NotTraining, "validation", "gpt_model_file: /m/gpt.nemo"},

		{"nemo 2 model.yaml", `
_target_: nemo.collections.llm.gpt.model.llama.LlamaModel
config:
  _target_: nemo.collections.llm.gpt.model.llama.Llama31Config
  num_layers: 2
tokenizer: {_target_: nemo.collections.common.tokenizers.sentencepiece_tokenizer.SentencePieceTokenizer}
`, AlreadyNeMo2, "NeMo 2.0 model.yaml", "_target_: nemo.collections.llm.gpt.model.llama.LlamaModel"},
		{"nemo 2 recipe config", "trainer:\n  _target_: nemo.lightning.Trainer\n  devices: 8\n", AlreadyNeMo2, "NeMo 2.0 config", "trainer._target_: nemo.lightning.Trainer"},
		{"nemo 2 io.json", `{"root": {"type": "ref", "key": "trainer_context_1"}, "objects": {}, "refcounts": {}, "version": "0.0.1"}`,
			AlreadyNeMo2, "NeMo 2.0 io.json", ""},

		// What migrates.
		{"gpt pretraining", "name: megatron_gpt\ntrainer: {devices: 1}\nmodel: {num_layers: 2, hidden_size: 64, data: {data_prefix: [a]}}\n", 0, "", ""},
		{"sft with generation settings", `
name: megatron_gpt_sft
trainer: {devices: 1}
model: {restore_from_path: /m/gpt.nemo, data: {train_ds: {file_names: [a.jsonl]}}}
inference: {greedy: true}
`, 0, "", ""},
		{"a name is no evidence beside an architecture", "name: bert_vs_gpt\nmodel: {num_layers: 2, hidden_size: 64}\n", 0, "", ""},
		{"bare gpt model_config.yaml", "target: nemo.collections.nlp.models.language_modeling.megatron_gpt_model.MegatronGPTModel\nnum_layers: 2\nhidden_size: 64\n", 0, "", ""},
	}
	for _, c := range cases {
		raw, err := omegaconf.Parse([]byte(c.src))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, err = Migrate("x.yaml", raw, nil)
		var re *RefusedError
		if !errors.As(err, &re) {
			if c.reason != 0 {
				t.Errorf("%s: not refused (err %v), want %s", c.name, err, c.detected)
			} else if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if c.reason == 0 {
			t.Errorf("%s: refused: %v", c.name, err)
			continue
		}
		if re.Reason != c.reason || re.Detected != c.detected || re.Evidence != c.evidence && !strings.HasPrefix(re.Evidence, c.evidence+":") {
			t.Errorf("%s: refused as %d %q (%q), want %d %q (%q)", c.name, re.Reason, re.Detected, re.Evidence, c.reason, c.detected, c.evidence)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "x.yaml:") || re.What == "" || !strings.Contains(msg, re.What) || !strings.Contains(msg, re.Why) {
			t.Errorf("%s: message %q", c.name, msg)
		}
		if c.reason != AlreadyNeMo2 && c.evidence != "" && !strings.Contains(msg, "("+c.evidence) {
			t.Errorf("%s: message does not name %s: %q", c.name, c.evidence, msg)
		}
	}
}

// TestRefusalPosition checks that a refusal points at the key that shows
// what the file is.
func TestRefusalPosition(t *testing.T) {
	raw, err := omegaconf.Parse([]byte("name: x\ntrainer: {devices: 1}\nmodel:\n  num_layers: 2\n  hyena:\n    filter_order: 64\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Migrate("h.yaml", raw, nil)
	var re *RefusedError
	if !errors.As(err, &re) || re.Line != 5 || re.Column != 3 || !strings.HasPrefix(err.Error(), "h.yaml:5:3: a NeMo 1.0 Hyena config (model.hyena): ") {
		t.Errorf("got %v", err)
	}
}

// TestHydraComposedModel refuses a config whose model section Hydra
// composes from another file.
func TestHydraComposedModel(t *testing.T) {
	raw, err := omegaconf.Parse([]byte("defaults:\n  - model: dreamfusion\n  - _self_\ntrainer: {devices: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Migrate("c.yaml", raw, nil)
	var ne *NotNeMoError
	if !errors.As(err, &ne) || ne.Line != 2 || !strings.Contains(err.Error(), "dreamfusion") || !strings.Contains(err.Error(), "--cfg job") {
		t.Errorf("got %v", err)
	}
}

// TestCheckpointGivenToConfig refuses checkpoints and other binary files
// before parsing them, pointing a .nemo to convert.
func TestCheckpointGivenToConfig(t *testing.T) {
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	cfg := []byte("num_layers: 2\n")
	tw.WriteHeader(&tar.Header{Name: "./model_config.yaml", Mode: 0o644, Size: int64(len(cfg))})
	tw.Write(cfg)
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarball.Bytes())
	zw.Close()
	var zipped bytes.Buffer
	w := zip.NewWriter(&zipped)
	f, _ := w.Create("archive/data.pkl")
	f.Write([]byte{0x80, 2})
	w.Close()

	dir := t.TempDir()
	for _, c := range []struct {
		name     string
		data     []byte
		detected string
		want     []string
	}{
		{"model.nemo", tarball.Bytes(), ".nemo checkpoint", []string{"a tar archive", "nemo-migrate convert --input_path ", "model.nemo --output_path model_nemo2 --model_id auto", "model_config.yaml"}},
		{"old.nemo", gz.Bytes(), ".nemo checkpoint", []string{"gzip-compressed tar archive", "nemo-migrate convert"}},
		{"last.ckpt", zipped.Bytes(), "zip archive", []string{"zip archive"}},
		{"weights.bin", []byte("\x00\x01\x02 binary"), "binary file", []string{"binary file"}},
	} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p, nil)
		var re *RefusedError
		if !errors.As(err, &re) || re.Reason != NotYAML || re.Detected != c.detected {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.name, err, w)
			}
		}
	}
}

// TestDirectoryGivenToConfig says what to give config instead.
func TestDirectoryGivenToConfig(t *testing.T) {
	extracted := t.TempDir()
	os.WriteFile(filepath.Join(extracted, "model_config.yaml"), []byte("num_layers: 2\n"), 0o644)
	if _, err := Load(extracted, nil); err == nil || !strings.Contains(err.Error(), filepath.Join(extracted, "model_config.yaml")) {
		t.Errorf("extracted .nemo: %v", err)
	}
	nemo2 := t.TempDir()
	os.MkdirAll(filepath.Join(nemo2, "context"), 0o755)
	os.WriteFile(filepath.Join(nemo2, "context", "model.yaml"), []byte("_target_: x\n"), 0o644)
	var re *RefusedError
	if _, err := Load(nemo2, nil); !errors.As(err, &re) || re.Reason != AlreadyNeMo2 {
		t.Errorf("NeMo 2 checkpoint: %v", err)
	}
	if _, err := Load(t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("empty directory: %v", err)
	}
}
