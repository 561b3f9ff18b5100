package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/nemo-migrate/nemo-migrate/internal/export"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
)

// modelInfo is one line of `nemo-migrate models --json`.
type modelInfo struct {
	ID                string `json:"id"`
	ModelClass        string `json:"model_class"`
	ConfigClass       string `json:"config_class"`
	NumLayers         int    `json:"num_layers"`
	HiddenSize        int    `json:"hidden_size"`
	FFNHiddenSize     int    `json:"ffn_hidden_size"`
	NumAttentionHeads int    `json:"num_attention_heads"`
	NumQueryGroups    int    `json:"num_query_groups"`
	NumMoEExperts     int    `json:"num_moe_experts"`
	SeqLength         int    `json:"seq_length"`
	VocabSize         int    `json:"vocab_size"`
	Parameters        int64  `json:"parameters"`
}

func runModels(e *env, args []string) error {
	fs := newFlagSet(e, "models", "[--json]",
		"List the model ids convert accepts, with their NeMo 2.0 model and config\n"+
			"classes and sizes. The parameter count is for the published tokenizer's\n"+
			"vocabulary. --model_id auto takes the architecture from model_config.yaml instead.\n\n"+
			"Examples:\n"+
			"  nemo-migrate models\n"+
			"  nemo-migrate models --json | jq -r '.models[].id'")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	var infos []modelInfo
	for _, m := range models.Models() {
		a, err := models.NewConfig(m.Config).Arch()
		if err != nil {
			return fmt.Errorf("model %s: %w", m.ID, err)
		}
		man, err := a.Manifest(m.Vocab, models.Options{})
		if err != nil {
			return fmt.Errorf("model %s: %w", m.ID, err)
		}
		infos = append(infos, modelInfo{
			ID: m.ID, ModelClass: m.Class.Name(), ConfigClass: m.Config.Name(),
			NumLayers: a.NumLayers, HiddenSize: a.Hidden, FFNHiddenSize: a.FFN,
			NumAttentionHeads: a.Heads, NumQueryGroups: a.Groups, NumMoEExperts: a.Experts,
			SeqLength: a.SeqLength, VocabSize: m.Vocab, Parameters: man.NumParams(),
		})
	}
	if *asJSON {
		type family struct {
			Name        string `json:"name"`
			ModelClass  string `json:"model_class"`
			ConfigClass string `json:"config_class"`
			When        string `json:"when"`
		}
		var fams []family
		for _, f := range models.Families() {
			fams = append(fams, family{f.Name, f.Model, f.Config, f.When})
		}
		return printJSON(e.stdout, struct {
			Models []modelInfo `json:"models"`
			Auto   []family    `json:"auto"`
			Export []string    `json:"export"`
		}{infos, fams, export.Architectures()})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMODEL\tCONFIG\tLAYERS\tHIDDEN\tFFN\tHEADS\tGROUPS\tEXPERTS\tPARAMS")
	for _, m := range infos {
		experts := "-"
		if m.NumMoEExperts > 0 {
			experts = fmt.Sprint(m.NumMoEExperts)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", m.ID, shortClass(m.ModelClass), shortClass(m.ConfigClass),
			m.NumLayers, m.HiddenSize, m.FFNHiddenSize, m.NumAttentionHeads, m.NumQueryGroups, experts, humanCount(m.Parameters))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\n--model_id auto builds, by what model_config.yaml describes (first match):")
	tw = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAMILY\tMODEL\tCONFIG\tWHEN")
	for _, f := range models.Families() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, shortClass(f.Model), shortClass(f.Config), f.When)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nexport writes %s.\n", strings.Join(export.Architectures(), ", "))
	fmt.Fprintf(e.stdout, "\nClasses are in nemo.collections.llm.gpt.model; fields as of NeMo %s, Megatron-Core %s.\n",
		models.NeMoVersion, models.MCoreVersion)
	return nil
}

// shortClass drops the common module prefix: "llama.LlamaModel".
func shortClass(path string) string {
	return strings.TrimPrefix(path, "nemo.collections.llm.gpt.model.")
}

// humanCount prints a parameter count in billions: "8.03B".
func humanCount(n int64) string {
	if n >= 1e9 {
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	}
	return fmt.Sprintf("%.1fM", float64(n)/1e6)
}
