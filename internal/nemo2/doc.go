// Package nemo2 writes the NeMo 2.0 checkpoint layout: weights/ (a
// Megatron-Core torch_dist distributed checkpoint whose keys start with
// "module.") and context/ (io.json, model.yaml, tokenizer files).
//
// The weights writer follows the compatibility contract in DESIGN.md: items
// are complete torch.save archives concatenated in .distcp files, the index
// is a .metadata pickle in the torch >= 2.3 form, common.pt holds plain
// values only, and metadata.json is written last, after everything else is
// synced, because its presence is what marks a checkpoint complete.
package nemo2
