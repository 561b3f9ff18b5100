package nemo2

import (
	"fmt"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

// Tokenizer classes as NeMo 2.6.0rc0 (NVIDIA/NeMo@8cfedd72) defines them,
// with every __init__ parameter and default, which model.yaml lists:
// nemo/collections/common/tokenizers/sentencepiece_tokenizer.py,
// huggingface/auto_tokenizer.py and tiktoken_tokenizer.py.
func sentencePieceClass() *models.Class {
	return &models.Class{
		Ref: fiddle.Dotted(tokenizer.SentencePieceClass),
		Params: []models.Param{
			{Name: "model_path", Required: true},
			{Name: "special_tokens"},
			{Name: "legacy", Default: false},
			{Name: "ignore_extra_whitespaces", Default: true},
			{Name: "chat_template"},
			{Name: "trim_spm_separator_after_special_token", Default: true},
			{Name: "spm_separator", Default: "\u2581"},
		},
	}
}

func autoTokenizerClass() *models.Class {
	return &models.Class{
		Ref: fiddle.Dotted(tokenizer.AutoTokenizerClass),
		Params: []models.Param{
			{Name: "pretrained_model_name", Required: true},
			{Name: "vocab_file"},
			{Name: "merges_file"},
			{Name: "mask_token"},
			{Name: "bos_token"},
			{Name: "eos_token"},
			{Name: "pad_token"},
			{Name: "sep_token"},
			{Name: "cls_token"},
			{Name: "unk_token"},
			{Name: "additional_special_tokens", Default: &fiddle.List{}},
			{Name: "use_fast", Default: true},
			{Name: "trust_remote_code", Default: false},
			{Name: "include_special_tokens", Default: false},
			{Name: "chat_template"},
		},
	}
}

func tiktokenClass() *models.Class {
	return &models.Class{
		Ref: fiddle.Dotted(tokenizer.TiktokenClass),
		Params: []models.Param{
			{Name: "vocab_file"},
			{Name: "encoding_name"},
			{Name: "pattern", Default: tokenizer.TiktokenPattern},
			{Name: "vocab_size", Default: 131072}, // DEFAULT_TIKTOKEN_MAX_VOCAB = 2**17
			{Name: "num_special_tokens", Default: 1000},
			{Name: "special_tokens"},
			{Name: "bos_token", Default: "<|startoftext|>"},
			{Name: "eos_token", Default: "<|endoftext|>"},
			{Name: "pad_token", Default: "<|endoftext|>"},
		},
	}
}

// TokenizerConfig returns the tokenizer as NeMo's converter constructs it,
// which is what io.json records (only the arguments it passes):
//
//   - SentencePiece: get_nmt_tokenizer builds
//     SentencePieceTokenizer(model_path=..., special_tokens=None,
//     legacy=..., chat_template=None);
//   - Hugging Face: AutoTokenizer(<dir>), the directory copied to
//     context/nemo_tokenizer;
//   - megatron GPT2BPETokenizer: AutoTokenizer(<dir>, use_fast=False), the
//     directory context/nemo_tokenizer holding vocab.json, merges.txt and
//     the tokenizer_config.json that names GPT2Tokenizer (see
//     tokenizer.GPT2BPEBytes), which transformers builds into the slow
//     GPT2Tokenizer NeMo 1 had;
//   - tiktoken: get_nmt_tokenizer builds TiktokenTokenizer(vocab_file=...).
//
// The artifact argument holds info.Path, relative to context/, as NeMo's
// artifact copy leaves it.
func TokenizerConfig(info *tokenizer.Info) (*models.Config, error) {
	if info == nil {
		return nil, fmt.Errorf("no tokenizer")
	}
	if info.Path == "" {
		return nil, fmt.Errorf("tokenizer %s has no file in context/", info.Class)
	}
	var cls *models.Class
	var args []fiddle.Arg
	switch info.Library {
	case tokenizer.SentencePiece:
		cls = sentencePieceClass()
		args = []fiddle.Arg{{Name: "model_path", Value: info.Path}, {Name: "special_tokens"},
			{Name: "legacy", Value: info.Legacy}, {Name: "chat_template"}}
	case tokenizer.HuggingFace:
		cls = autoTokenizerClass()
		args = []fiddle.Arg{{Name: "pretrained_model_name", Value: info.Path}}
	case tokenizer.Megatron:
		// NeMo 1 built AutoTokenizer("gpt2", vocab_file=..., merges_file=...,
		// use_fast=False); "gpt2" would send transformers to the Hub for
		// the class, so the directory holds the two files and a
		// tokenizer_config.json naming GPT2Tokenizer instead.
		cls = autoTokenizerClass()
		args = []fiddle.Arg{{Name: "pretrained_model_name", Value: info.Path}, {Name: "use_fast", Value: false}}
	case tokenizer.Tiktoken:
		cls = tiktokenClass()
		args = []fiddle.Arg{{Name: "vocab_file", Value: info.Path}}
	default:
		return nil, fmt.Errorf("tokenizer library %q is not supported by NeMo 2.0 conversion", info.Library)
	}
	if info.Class != "" && info.Class != cls.Name() {
		return nil, fmt.Errorf("tokenizer library %s with class %s: expected %s", info.Library, info.Class, cls.Name())
	}
	if info.Arg != "" && info.Arg != args[0].Name {
		return nil, fmt.Errorf("tokenizer %s holds its file in %s, expected %s", cls.Name(), info.Arg, args[0].Name)
	}
	c := models.NewConfig(cls)
	for _, a := range args {
		if err := c.Set(a.Name, a.Value); err != nil {
			return nil, err
		}
	}
	return c, nil
}
