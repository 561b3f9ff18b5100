package configmig

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
)

// Refusal says why a file is refused.
type Refusal uint8

// The reasons a file is refused.
const (
	// NotMigrated is a NeMo 1.0 training config of a model family or a
	// method nemo-migrate does not write NeMo 2.0 scripts for.
	NotMigrated Refusal = iota + 1
	// NotTraining is a NeMo 1.0 config that does not train: inference,
	// export, quantization, pruning, validation.
	NotTraining
	// AlreadyNeMo2 is a NeMo 2.0 config or checkpoint context.
	AlreadyNeMo2
	// NotYAML is a checkpoint or another binary file.
	NotYAML
)

// RefusedError is a file nemo-migrate recognises and does not turn into a
// NeMo 2.0 training script, with what it detected and what to do instead.
type RefusedError struct {
	File         string
	Line, Column int // 0 when the file's bytes, not a key, told
	Reason       Refusal
	// Detected names what the file is: "T5", "inference", "NeMo 2.0
	// model.yaml", ".nemo checkpoint", ...
	Detected string
	// Evidence is the key (and value) that told, as written:
	// "model.encoder", "name: megatron_mamba".
	Evidence string
	// What describes the file, Why says why it is not migrated, and Do
	// what to do instead.
	What, Why, Do string
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": " + e.What)
	if e.Evidence != "" {
		b.WriteString(" (" + e.Evidence + ")")
	}
	b.WriteString(": " + e.Why + ".")
	if e.Do != "" {
		b.WriteString(" " + e.Do)
	}
	return b.String()
}

// sniff refuses data that is not YAML text: a .nemo checkpoint (a tar
// archive, gzipped by NeMo before 1.7), a zip (torch.save), other binary
// files. YAML parse errors of such bytes would say nothing useful.
func sniff(file string, data []byte) error {
	e := &RefusedError{File: file, Reason: NotYAML}
	switch {
	case len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b,
		len(data) >= 262 && string(data[257:262]) == "ustar":
		kind := "a tar archive"
		if data[0] == 0x1f {
			kind = "a gzip-compressed tar archive"
		}
		e.Detected = ".nemo checkpoint"
		e.What = "a .nemo checkpoint or another archive (" + kind + "), not a YAML config"
		e.Why = "config migrates YAML training configs; checkpoints are converted by convert"
		out := strings.TrimSuffix(path.Base(file), ".nemo") + "_nemo2"
		e.Do = fmt.Sprintf("Convert it with: nemo-migrate convert --input_path %s --output_path %s --model_id auto. "+
			"To migrate the training config inside it, extract it (tar -xf %s ./model_config.yaml) and run nemo-migrate config model_config.yaml.",
			file, out, file)
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		e.Detected = "zip archive"
		e.What = "a zip archive (a torch.save file such as a .ckpt or .pt?), not a YAML config"
		e.Why = "config migrates YAML training configs"
		e.Do = "Give it the YAML the model was trained with, or the model_config.yaml of its .nemo file."
	case bytes.IndexByte(data[:min(len(data), 8192)], 0) >= 0:
		e.Detected = "binary file"
		e.What = "a binary file, not a YAML config"
		e.Why = "config migrates YAML training configs"
		e.Do = "Give it the YAML the model was trained with, or the model_config.yaml of a .nemo file."
	default:
		return nil
	}
	return e
}

// foreign is a NeMo 1.0 model family or training method nemo-migrate does
// not write scripts for, and what NeMo 2.0 has instead ("" for nothing).
type foreign struct {
	name, what, nemo2 string
}

// mambaFineTuneWhy says why a Mamba fine-tune is refused when Mamba
// pretraining configs migrate.
const mambaFineTuneWhy = "its architecture is the checkpoint's, and nemo-migrate migrates Mamba configs that give the architecture (pretraining) only"

var (
	famT5 = foreign{"T5", "a NeMo 1.0 T5 (encoder-decoder) config",
		"NeMo 2.0 trains T5 with llm.T5Model (llm.T5Config220M, T5Config3B, T5Config11B); start from its recipes (nemo.collections.llm.recipes.t5_220m, ...)"}
	famUL2    = foreign{"UL2", "a NeMo 1.0 UL2 (T5 encoder-decoder) config", famT5.nemo2}
	famT0     = foreign{"T0", "a NeMo 1.0 T0 (T5 encoder-decoder) config", famT5.nemo2}
	famBART   = foreign{"BART", "a NeMo 1.0 BART (encoder-decoder) config", "NeMo 2.0 has no BART model"}
	famNMT    = foreign{"machine translation", "a NeMo 1.0 machine translation (encoder-decoder) config", "NeMo 2.0 has no machine translation model"}
	famEncDec = foreign{"encoder-decoder part", "the encoder or decoder section of a NeMo 1.0 T5/BART config (megatron_model_base_config.yaml)",
		famT5.nemo2}
	famBERT = foreign{"BERT", "a NeMo 1.0 Megatron BERT config",
		"NeMo 2.0 trains BERT with llm.BertModel (llm.MegatronBertBaseConfig, MegatronBertLargeConfig; recipes bert_110m, bert_340m)"}
	famBERTEmbedding = foreign{"BERT embedding", "a NeMo 1.0 BERT embedding model config",
		"NeMo 2.0 trains it with llm.BertEmbeddingModel (llm.BertEmbeddingLargeConfig, BertEmbeddingMiniConfig)"}
	famRetro   = foreign{"Retro", "a NeMo 1.0 Retro (retrieval-augmented) config", "NeMo 2.0 has no Retro model"}
	famGriffin = foreign{"Griffin", "a NeMo 1.0 Griffin (RecurrentGemma) config", "NeMo 2.0 has no Griffin model"}
	famMamba   = foreign{"Mamba", "a NeMo 1.0 Mamba or hybrid Mamba-Transformer fine-tuning config",
		"NeMo 2.0 fine-tunes these with llm.MambaModel; convert the checkpoint with 'nemo-migrate convert --model_id auto' " +
			"and start from its context/"}
	famHyena = foreign{"Hyena", "a NeMo 1.0 Hyena config",
		"NeMo 2.0 trains Hyena with llm.HyenaModel (llm.HyenaConfig, Hyena1bConfig, Hyena7bConfig, ...)"}
	famFalcon = foreign{"Falcon", "a NeMo 1.0 Falcon config (parallel attention and MLP)", "NeMo 2.0 has no Falcon model"}
	famPrompt = foreign{"prompt learning", "a NeMo 1.0 p-tuning / prompt-tuning (virtual prompt) config",
		"NeMo 2.0 has no p-tuning or prompt tuning; it fine-tunes with llm.finetune and llm.peft.LoRA, DoRA or CanonicalLoRA"}
	famTaskPEFT = foreign{"task-template tuning", "a NeMo 1.0 task-template tuning config (adapters, IA3 or LoRA with task_templates)",
		"NeMo 2.0 fine-tunes with llm.finetune and llm.peft.LoRA, DoRA or CanonicalLoRA on a FineTuningDataModule; NeMo 1.0's newer megatron_gpt_finetuning_config.yaml form (model.peft) migrates"}
	famGPTEmbedding = foreign{"GPT embedding", "a NeMo 1.0 GPT embedding or reranker config",
		"NeMo 2.0 has llm.LlamaEmbeddingModel (llm.Llama32EmbeddingConfig1B, Llama32EmbeddingConfig3B) and the Llama32Reranker configs"}
	famDistill = foreign{"distillation", "a NeMo 1.0 knowledge distillation config",
		"NeMo 2.0 distills with llm.distill (TensorRT Model Optimizer)"}
	famQAT = foreign{"quantization-aware training", "a NeMo 1.0 quantization-aware training config",
		"NeMo 2.0 quantizes with llm.ptq (TensorRT Model Optimizer); fine-tune the quantized checkpoint with llm.finetune"}
	famTask = foreign{"non-Megatron NLP model", "a NeMo 1.0 NLP model built from NeMo's own or a Hugging Face transformer, not Megatron " +
		"(a classifier, tagger, QA, translation or language model)", "NeMo 2.0's llm collection has no such models"}
	famMultimodal = foreign{"multimodal", "a NeMo 1.0 multimodal (vision-language) config", "NeMo 2.0 has its vision-language models in nemo.collections.vlm"}
	famImage      = foreign{"text-to-image", "a NeMo 1.0 text-to-image (diffusion) config", "NeMo 2.0 has its diffusion models in nemo.collections.diffusion"}
	famVision     = foreign{"vision", "a NeMo 1.0 vision transformer config", ""}
	famSpeech     = foreign{"speech", "a NeMo 1.0 speech (ASR/TTS) config", ""}
)

// collections names NeMo's collections other than the language-model
// ones, found in _target_ paths (nemo.collections.asr.modules....).
var collections = map[string]string{
	"asr": "speech recognition (ASR)", "tts": "text-to-speech (TTS)", "audio": "audio processing",
	"multimodal": "multimodal", "vision": "vision", "speechlm": "speech language model",
	"speechlm2": "speech language model", "slu": "spoken language understanding", "vlm": "vision language model",
	"diffusion": "diffusion",
}

// targetFamilies maps NeMo 1.0 model classes, as a .nemo's
// model_config.yaml names them in target, to their family; the GPT classes
// migrate.
var targetFamilies = []struct {
	substr string
	fam    foreign
}{
	{"PromptLearning", famPrompt}, {"AdapterLearning", famTaskPEFT}, {"InfusedAdapter", famTaskPEFT},
	{"T5Lora", famT5}, {"Reranker", famGPTEmbedding}, {"GPTEmbedding", famGPTEmbedding},
	{"BertEmbedding", famBERTEmbedding}, {"Bert", famBERT}, {"BART", famBART}, {"NMT", famNMT},
	{"T0", famT0}, {"T5", famT5}, {"EncoderDecoder", famT5}, {"Retro", famRetro}, {"Retrieval", famRetro},
	{"Griffin", famGriffin}, {"Mamba", famMamba},
}

// nameFamilies maps words of a run's name or a checkpoint's file name to
// families; they are used only when the YAML has no architecture of its
// own (a fine-tuning config takes it from the checkpoint).
var nameFamilies = map[string]foreign{
	"t5": famT5, "ul2": famUL2, "t0": famT0, "bart": famBART, "nmt": famNMT, "bert": famBERT, "retro": famRetro,
	"griffin": famGriffin, "mamba": famMamba, "hyena": famHyena, "falcon": famFalcon, "embedder": famGPTEmbedding,
	"reranker": famGPTEmbedding, "neva": famMultimodal, "llava": famMultimodal,
}

// detector finds what a parsed YAML file is.
type detector struct {
	file string
	raw  *omegaconf.Node
	// ms is the model section: raw's model map, or raw itself for a bare
	// model_config.yaml; nil when there is none.
	ms *omegaconf.Node
	// msPath is the path of ms ("model" or "").
	msPath string
}

// detect refuses the files nemo-migrate recognises and does not migrate.
// It returns nil for a file to migrate, a GPT-family training config or
// model_config.yaml (or one it does not recognise at all, which Migrate
// then refuses as not a NeMo 1.0 config).
func detect(file string, raw *omegaconf.Node) error {
	if raw.Kind != omegaconf.Map {
		return nil
	}
	d := &detector{file: file, raw: raw}
	if m := raw.Get("model"); m != nil && m.Kind == omegaconf.Map {
		d.ms, d.msPath = m, "model"
	} else if raw.Get("model") == nil && raw.Get("trainer") == nil && hasAny(raw, bareModelKeys) {
		d.ms = raw
	}
	for _, check := range []func() *RefusedError{d.nemo2, d.collection, d.task, d.notTraining, d.family} {
		if e := check(); e != nil {
			return e
		}
	}
	if n := raw.Get("defaults"); d.ms == nil && n != nil && n.Kind == omegaconf.List {
		for _, it := range n.Items {
			if it.Kind == omegaconf.Map && len(it.Entries) == 1 && it.Entries[0].Key == "model" {
				return &NotNeMoError{File: file, Line: it.Line, Column: it.Column,
					Msg: fmt.Sprintf("the model section is composed by Hydra from another file (defaults: model: %s), which this file does not hold; "+
						"migrate the composed config instead (python <training script>.py --cfg job > composed.yaml)", scalarText(it.Entries[0].Value))}
			}
		}
	}
	return nil
}

// refuse returns the error for the key at path (relative to the file).
func (d *detector) refuse(reason Refusal, detected, path string) *RefusedError {
	e := &RefusedError{File: d.file, Reason: reason, Detected: detected, Line: d.raw.Line, Column: d.raw.Column}
	if path != "" {
		e.Evidence = path
		if n := d.raw.Lookup(path); n != nil {
			if n.IsScalar() {
				e.Evidence += ": " + shorten(scalarText(n), 80)
			}
			e.Line, e.Column = n.Line, n.Column
		}
		if ent := entryAt(d.raw, path); ent != nil {
			e.Line, e.Column = ent.Line, ent.Column
		}
	}
	return e
}

// family refuses a config of a family nemo-migrate does not migrate.
func (d *detector) foreign(f foreign, path string) *RefusedError {
	e := d.refuse(NotMigrated, f.name, path)
	e.What = f.what
	e.Why = "nemo-migrate writes NeMo 2.0 training scripts for GPT-style (decoder-only) models and Mamba hybrids only"
	if f == famMamba {
		e.Why = mambaFineTuneWhy
	}
	if f.nemo2 != "" {
		e.Do = f.nemo2 + "."
	}
	return e
}

func scalarText(n *omegaconf.Node) string {
	if n.Kind == omegaconf.String {
		return n.Str
	}
	return omegaconf.PyRepr(n)
}

// entryAt returns the map entry at path, for its position.
func entryAt(root *omegaconf.Node, p string) *omegaconf.Entry {
	parent, key := "", p
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		parent, key = p[:i], p[i+1:]
	}
	return root.Lookup(parent).GetEntry(key)
}

// mk returns the path of key in the model section.
func (d *detector) mk(key string) string { return join(d.msPath, key) }

// has reports whether the model section has key (a dotted path below it).
func (d *detector) has(key string) bool { return d.ms != nil && d.ms.Lookup(key) != nil }

// str returns the string at path of the file as written, or "".
func (d *detector) str(p string) string {
	n := d.raw.Lookup(p)
	if n == nil || n.Kind != omegaconf.String {
		return ""
	}
	return n.Str
}

// nemo2 recognises NeMo 2.0 files: a checkpoint's context/io.json (fiddle
// JSON, which is YAML too) and anything naming NeMo 2.0 classes in
// _target_ (a checkpoint's context/model.yaml, NeMo 2.0 recipes and
// configs built on them).
func (d *detector) nemo2() *RefusedError {
	if d.raw.Get("root") != nil && d.raw.Get("objects") != nil && d.raw.Get("refcounts") != nil {
		e := d.refuse(AlreadyNeMo2, "NeMo 2.0 io.json", "")
		e.What = "a NeMo 2.0 checkpoint's context/io.json"
		e.Why = "it is NeMo 2.0 already; there is nothing to migrate"
		e.Do = "NeMo 2.0 loads it with nemo.lightning.io.load_context(<checkpoint>/context)."
		return e
	}
	p, target := d.target(func(t string) bool {
		return strings.HasPrefix(t, "nemo.collections.llm.") || strings.HasPrefix(t, "nemo.lightning.")
	})
	if p == "" {
		return nil
	}
	e := d.refuse(AlreadyNeMo2, "NeMo 2.0 config", p)
	e.What = "a NeMo 2.0 config"
	if p == "_target_" && strings.HasPrefix(target, "nemo.collections.llm.") {
		e.Detected, e.What = "NeMo 2.0 model.yaml", "a NeMo 2.0 model config (a checkpoint's context/model.yaml)"
	}
	e.Why = "it names NeMo 2.0 classes, so it is NeMo 2.0 already; there is nothing to migrate"
	e.Do = "NeMo 2.0 loads a checkpoint's model with nemo.lightning.io.load_context(<checkpoint>/context, subpath=\"model\")."
	return e
}

// target returns the first _target_ whose value match accepts, with its
// path.
func (d *detector) target(match func(string) bool) (p, target string) {
	omegaconf.Walk(d.raw, func(path string, n *omegaconf.Node) bool {
		if p != "" {
			return false
		}
		if (path == "_target_" || strings.HasSuffix(path, "._target_")) && n.Kind == omegaconf.String && match(n.Str) {
			p, target = path, n.Str
		}
		return true
	})
	return p, target
}

// collection refuses configs of NeMo's other collections (ASR, TTS,
// multimodal, ...), which name their classes in _target_.
func (d *detector) collection() *RefusedError {
	var name string
	p, _ := d.target(func(t string) bool {
		rest, ok := strings.CutPrefix(t, "nemo.collections.")
		if !ok {
			return false
		}
		c, _, _ := strings.Cut(rest, ".")
		name = collections[c]
		return name != ""
	})
	if p == "" {
		return nil
	}
	return d.foreign(foreign{name, "a NeMo " + name + " config", "nemo-migrate migrates the NeMo 1.0 GPT-family language-model configs only"}, p)
}

// trainingData reports whether the config names data to train on (or,
// for NeMo 1.0's task models, says it trains).
func (d *detector) trainingData() bool {
	return d.has("data.train_ds") || d.has("data.data_prefix") || d.has("data.data_path") || d.has("train_ds") ||
		truthyRaw(d.raw.Get("do_training"))
}

// notTraining refuses configs of NeMo 1.0's scripts that do not train.
func (d *detector) notTraining() *RefusedError {
	if d.ms == d.raw {
		return nil // a bare model config
	}
	r := d.raw
	rule := func(detected, key, what, do string) *RefusedError {
		e := d.refuse(NotTraining, detected, key)
		e.What = what
		e.Why = "it does not train, so there is no NeMo 2.0 training script to write"
		e.Do = do
		return e
	}
	convertFirst := " NeMo 2.0 cannot read NeMo 1.0 checkpoints: convert yours first (nemo-migrate convert)."
	train := d.trainingData()
	switch {
	case r.Get("quantization") != nil && train:
		return d.foreign(famQAT, "quantization")
	case r.Get("quantization") != nil:
		return rule("PTQ", "quantization", "a NeMo 1.0 post-training quantization (PTQ) config",
			"NeMo 2.0 quantizes with llm.ptq (TensorRT Model Optimizer)."+convertFirst)
	case r.Get("prune") != nil:
		return rule("pruning", "prune", "a NeMo 1.0 pruning config", "NeMo 2.0 prunes with llm.prune."+convertFirst)
	case !train && (r.Get("export") != nil || r.Get("export_options") != nil || r.Get("onnx_model_file") != nil):
		key := firstKey(r, "export", "export_options", "onnx_model_file")
		return rule("export", key, "a NeMo 1.0 export config",
			"NeMo 2.0 exports with llm.export_ckpt; nemo-migrate export writes a Hugging Face checkpoint from a NeMo 1.0 one.")
	case r.Get("indexing") != nil || r.Get("generating") != nil:
		return rule("RAG", firstKey(r, "indexing", "generating"), "a NeMo 1.0 retrieval-augmented generation (RAG) config", "")
	case !train && hasAny(r, generationKeys):
		return rule("inference", firstKey(r, generationKeys...), "a NeMo 1.0 inference (text generation or evaluation) config",
			"NeMo 2.0 generates with llm.generate and evaluates with llm.evaluate."+convertFirst)
	case !train && d.ms == nil && hasAny(r, checkpointKeys):
		return rule("validation", firstKey(r, checkpointKeys...), "a NeMo 1.0 checkpoint validation config",
			"NeMo 2.0 validates with llm.validate."+convertFirst)
	}
	return nil
}

// generationKeys are top-level keys of NeMo 1.0's generation, evaluation
// and serving configs.
var generationKeys = []string{"inference", "prompts", "prompts_jsonl", "server", "common_inference_params",
	"pred_file_path", "srctext", "data_paths", "data_path", "infer", "fid", "edit", "image_path", "sampling"}

// checkpointKeys are top-level keys naming the NeMo 1.0 checkpoint a
// non-training script loads.
var checkpointKeys = []string{"gpt_model_file", "retro_model_file", "mamba_model_file", "model_file",
	"language_model_path", "virtual_prompt_model_file", "adapter_model_file", "checkpoint_dir"}

func firstKey(n *omegaconf.Node, keys ...string) string {
	for _, k := range keys {
		if n.Get(k) != nil {
			return k
		}
	}
	return ""
}

// task refuses the configs of NeMo 1.0's NLP models that are not Megatron
// language models: classifiers, taggers, QA, translation and language
// models built on NeMo's own or a Hugging Face transformer. Their
// training scripts also generate, so this comes before notTraining.
func (d *detector) task() *RefusedError {
	if p := firstKey(d.raw, "pretrained_model", "tagger_model", "decoder_model"); p != "" {
		return d.foreign(famTask, p)
	}
	// Megatron GPT configs keep their datasets under model.data.
	if p := d.first("language_model", "head", "encoder.library", "train_ds"); p != "" {
		return d.foreign(famTask, p)
	}
	return nil
}

// family refuses training configs of other model families and methods.
func (d *detector) family() *RefusedError {
	if d.ms == nil {
		return nil
	}
	mk := d.mk
	if t := d.str(mk("target")); t != "" {
		class := t[strings.LastIndexByte(t, '.')+1:]
		if class == "MegatronGPTModel" || class == "MegatronGPTSFTModel" {
			return nil // the class says GPT: nothing below can say otherwise
		}
		for _, f := range targetFamilies {
			if strings.Contains(class, f.substr) {
				return d.foreign(f.fam, mk("target"))
			}
		}
		return d.foreign(foreign{class, "a NeMo 1.0 " + class + " config", "nemo-migrate knows no NeMo 2.0 counterpart for it"}, mk("target"))
	}
	if d.ms == d.raw && (d.has("arch") || d.has("relative_attention_num_buckets") || d.has("hidden_steps")) {
		return d.foreign(famEncDec, d.first("arch", "relative_attention_num_buckets", "hidden_steps"))
	}
	if d.has("encoder_tokenizer") || d.has("src_language") {
		return d.foreign(famNMT, d.first("encoder_tokenizer", "src_language"))
	}
	if e := d.encoderDecoder(); e != nil {
		return e
	}
	switch {
	case d.has("unet") || d.has("unet_type") || d.has("unet_config") || d.has("first_stage_config"):
		return d.foreign(famImage, d.first("unet", "unet_type", "unet_config", "first_stage_config"))
	case d.has("vision_pretraining_type") || d.has("patch_dim") || d.has("data.imagenet_val") || d.has("data.imagenet_train"):
		return d.foreign(famVision, d.first("vision_pretraining_type", "patch_dim", "data.imagenet_val", "data.imagenet_train"))
	case d.has("asr_model") || d.has("tts_model"):
		return d.foreign(famSpeech, d.first("asr_model", "tts_model"))
	case d.has("retro") || d.has("chunk_size") && d.has("enc_num_layers") || d.has("data.knn_index") || d.has("data.retrieval_prefix"):
		return d.foreign(famRetro, d.first("retro", "chunk_size", "data.knn_index", "data.retrieval_prefix"))
	case d.has("global_inbatch_negatives") || d.has("mcore_bert") && d.has("add_pooler"):
		return d.foreign(famBERTEmbedding, d.first("global_inbatch_negatives", "add_pooler"))
	case d.has("mcore_bert") || d.has("bert_binary_head"):
		return d.foreign(famBERT, d.first("mcore_bert", "bert_binary_head"))
	case (d.has("hybrid_override_pattern") || d.has("mamba_ssm_ngroups") || truthyRaw(d.ms.Get("is_hybrid_model"))) &&
		!d.has("num_layers") && !d.has("hidden_size"):
		// A Mamba fine-tune: its architecture is the checkpoint's. With
		// an architecture it migrates to MambaModel (isMamba).
		return d.foreign(famMamba, d.first("hybrid_override_pattern", "mamba_ssm_ngroups", "is_hybrid_model"))
	case (d.has("activations_checkpoint_recurrent") || d.has("logits_soft_cap")) &&
		// megatron_mamba_config.yaml has activations_checkpoint_recurrent too.
		!d.has("hybrid_override_pattern") && !d.has("mamba_ssm_ngroups"):
		return d.foreign(famGriffin, d.first("activations_checkpoint_recurrent", "logits_soft_cap"))
	case d.has("hyena") || strings.Contains(d.str(mk("name")), "hyena"):
		return d.foreign(famHyena, d.first("hyena", "name"))
	case d.has("mcore_customization_config.parallel_attention") || d.has("mcore_customization_config.new_decoder_architecture"):
		return d.foreign(famFalcon, mk("mcore_customization_config"))
	case d.has("p_tuning") || d.has("prompt_tuning"):
		return d.foreign(famPrompt, d.first("p_tuning", "prompt_tuning"))
	case d.has("task_templates") || d.has("adapter_tuning") || d.has("new_tasks") || d.has("virtual_prompt_style"):
		return d.foreign(famTaskPEFT, d.first("adapter_tuning", "lora_tuning", "task_templates", "new_tasks", "virtual_prompt_style"))
	case d.has("num_soft_negatives") || d.has("use_all_possible_negatives") || strings.Contains(d.str(mk("peft.peft_scheme")), "mlp_head"):
		return d.foreign(famGPTEmbedding, d.first("num_soft_negatives", "use_all_possible_negatives", "peft.peft_scheme"))
	case d.has("kd_teacher_restore_from_path"):
		return d.foreign(famDistill, mk("kd_teacher_restore_from_path"))
	case d.has("mm_cfg") || d.has("vision") && d.has("text"):
		return d.foreign(famMultimodal, d.first("mm_cfg", "vision"))
	}
	if !d.has("num_layers") && !d.has("hidden_size") {
		// No architecture: a fine-tuning config takes it from the
		// checkpoint, and only names can tell what that is.
		for _, p := range []string{"name", mk("restore_from_path")} {
			s := d.str(p)
			if p != "name" {
				s = path.Base(s)
			}
			for _, w := range words(s) {
				f, ok := nameFamilies[w]
				if !ok {
					// A version: mamba2, retro2.
					f, ok = nameFamilies[strings.TrimRight(w, "0123456789")]
				}
				if ok {
					return d.foreign(f, p)
				}
			}
		}
	}
	return nil
}

// encoderDecoder refuses the encoder-decoder families: T5, UL2, T0, BART
// and machine translation, composed from encoder and decoder sections
// (written out, or by Hydra defaults into @model.encoder / @model.decoder).
func (d *detector) encoderDecoder() *RefusedError {
	p := ""
	switch {
	case d.has("encoder") && d.has("decoder"):
		p = d.mk("encoder")
	case d.has("share_decoder_tokens_head_embeddings") || d.has("pipeline_model_parallel_split_rank"):
		p = d.first("share_decoder_tokens_head_embeddings", "pipeline_model_parallel_split_rank")
	case d.has("data.seq_length_dec"):
		p = d.mk("data.seq_length_dec")
	default:
		if n := d.raw.Get("defaults"); n != nil && strings.Contains(omegaconf.PyRepr(n), "@model.encoder") {
			p = "defaults"
		}
	}
	if p == "" {
		return nil
	}
	f := famT5
	for _, w := range append(words(d.str("name")), words(d.str(d.mk("data.dataset_type")))...) {
		if x, ok := encDecNames[w]; ok {
			f = x
			break
		}
	}
	return d.foreign(f, p)
}

// encDecNames tell the encoder-decoder families apart by the words of a
// run's name or of model.data.dataset_type.
var encDecNames = map[string]foreign{"bart": famBART, "ul2": famUL2, "t0": famT0, "nmt": famNMT}

// first returns the path of the first of keys (dotted, below the model
// section) that the model section has, or "".
func (d *detector) first(keys ...string) string {
	for _, k := range keys {
		if d.has(k) {
			return d.mk(k)
		}
	}
	return ""
}

// words splits a name into its lower-case words: megatron_t5_config ->
// megatron, t5, config.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	})
}

// truthyRaw reports whether n is a true boolean.
func truthyRaw(n *omegaconf.Node) bool { return n != nil && n.Kind == omegaconf.Bool && n.Bool }
