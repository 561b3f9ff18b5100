package tokenizer

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// spmCorpus is the Python helper that makes deterministic training text;
// testdata/gen.py uses the same one.
const spmCorpus = `
import json, random, sys
import sentencepiece as spm

def corpus(n=1500, seed=0):
    rnd = random.Random(seed)
    syll = ["ka", "to", "ri", "na", "mo", "se", "lu", "pa", "de", "vi",
            "go", "zu", "he", "ba", "fi", "jo", "xe", "qu", "wa", "yi"]
    words = ["".join(rnd.choice(syll) for _ in range(rnd.randint(1, 4)))
             for _ in range(600)]
    extra = "The quick brown fox jumps over the lazy dog. Straße 東京 123 émigré"
    lines = []
    for i in range(n):
        lines.append(" ".join(rnd.choice(words) for _ in range(rnd.randint(3, 12))))
        if i % 50 == 0:
            lines.append(extra)
    return lines
`

// spmDump loads a model with SentencePieceProcessor and prints every
// piece, score and type, and the special ids, as JSON. The processor has
// no is_user_defined, so user-defined pieces are recognized from the list
// the model was trained with (argv[2], JSON).
const spmDump = `
def dump(path, user):
    try:
        sp = spm.SentencePieceProcessor(model_file=path)
    except Exception as e:
        print(json.dumps({"error": str(e)}))
        return
    pieces = []
    for i in range(sp.get_piece_size()):
        p = sp.id_to_piece(i)
        t = 1
        if sp.is_unknown(i): t = 2
        elif sp.is_control(i): t = 3
        elif sp.is_unused(i): t = 5
        elif sp.is_byte(i): t = 6
        elif p in user: t = 4
        pieces.append([p, sp.get_score(i), t])
    print(json.dumps({"pieces": pieces, "unk": sp.unk_id(), "bos": sp.bos_id(),
                      "eos": sp.eos_id(), "pad": sp.pad_id()}))
`

type spmPython struct {
	Error  string               `json:"error"`
	Pieces [][3]json.RawMessage `json:"pieces"`
	Unk    int                  `json:"unk"`
	Bos    int                  `json:"bos"`
	Eos    int                  `json:"eos"`
	Pad    int                  `json:"pad"`
}

// compareWithPython checks that Go's parse of a model equals what
// sentencepiece reports for it, piece by piece.
func compareWithPython(t *testing.T, m *Model, py *spmPython) {
	t.Helper()
	if len(m.Pieces) != len(py.Pieces) {
		t.Fatalf("Go parsed %d pieces, sentencepiece reports %d", len(m.Pieces), len(py.Pieces))
	}
	for i, raw := range py.Pieces {
		var piece string
		var score float64
		var typ int
		if err := json.Unmarshal(raw[0], &piece); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw[1], &score); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw[2], &typ); err != nil {
			t.Fatal(err)
		}
		got := m.Pieces[i]
		if got.Piece != piece || float64(got.Score) != score || int(got.Type) != typ {
			t.Errorf("piece %d: Go %q %v %v, sentencepiece %q %v %v", i, got.Piece, got.Score, got.Type, piece, score, PieceType(typ))
		}
	}
	if m.UnkID() != py.Unk || m.BosID() != py.Bos || m.EosID() != py.Eos || m.PadID() != py.Pad {
		t.Errorf("special ids: Go unk %d bos %d eos %d pad %d, sentencepiece unk %d bos %d eos %d pad %d",
			m.UnkID(), m.BosID(), m.EosID(), m.PadID(), py.Unk, py.Bos, py.Eos, py.Pad)
	}
}

func pythonDump(t *testing.T, path string, user []string) *spmPython {
	t.Helper()
	u, _ := json.Marshal(user)
	out := oracle.Run(t, []string{"sentencepiece"}, spmCorpus+spmDump+`
dump(sys.argv[1], set(json.loads(sys.argv[2]) or []))
`, path, string(u))
	var py spmPython
	if err := json.Unmarshal(out, &py); err != nil {
		t.Fatalf("python output: %v\n%s", err, out)
	}
	return &py
}

// TestSentencePieceTrainedByPython trains real models with sentencepiece's
// trainer and checks that every piece, score, type, special id and the
// trainer/normalizer settings read back as sentencepiece sees them.
func TestSentencePieceTrainedByPython(t *testing.T) {
	cases := []struct {
		name string
		args map[string]any
		// expectations on the specs, from the training arguments
		modelType                 ModelType
		byteFallback, dummyPrefix bool
		unk, bos, eos, pad        int32
		unkP, bosP, eosP, padP    string
		normName                  string
		user                      []string
	}{
		{
			name: "unigram-nfkc",
			args: map[string]any{"model_type": "unigram", "vocab_size": 500, "pad_id": 3,
				"user_defined_symbols": []string{"<sep>", "<cls>"}, "control_symbols": []string{"<ctl>"}},
			modelType: Unigram, dummyPrefix: true, unk: 0, bos: 1, eos: 2, pad: 3,
			normName: "nmt_nfkc", user: []string{"<sep>", "<cls>"},
		},
		{
			name: "bpe-bytefallback",
			args: map[string]any{"model_type": "bpe", "vocab_size": 600, "byte_fallback": true,
				"unk_id": 3, "bos_id": 0, "eos_id": 1, "pad_id": 2, "bos_piece": "<bos>", "eos_piece": "<eos>",
				"add_dummy_prefix": false, "normalization_rule_name": "identity"},
			modelType: BPE, byteFallback: true, unk: 3, bos: 0, eos: 1, pad: 2,
			bosP: "<bos>", eosP: "<eos>", normName: "identity",
		},
		{
			name: "unigram-bytefallback-no-eos",
			args: map[string]any{"model_type": "unigram", "vocab_size": 500, "byte_fallback": true,
				"eos_id": -1, "normalization_rule_name": "nfkc"},
			modelType: Unigram, byteFallback: true, dummyPrefix: true, unk: 0, bos: 1, eos: -1, pad: -1,
			normName: "nfkc",
		},
		{
			name: "char",
			args: map[string]any{"model_type": "char", "vocab_size": 80, "bos_id": -1, "pad_id": 1,
				"unk_piece": "[UNK]", "pad_piece": "[PAD]"},
			modelType: Char, dummyPrefix: true, unk: 0, bos: -1, eos: 2, pad: 1,
			unkP: "[UNK]", padP: "[PAD]", normName: "nmt_nfkc",
		},
		{
			name:      "word",
			args:      map[string]any{"model_type": "word", "vocab_size": 300, "normalization_rule_name": "identity"},
			modelType: Word, dummyPrefix: true, unk: 0, bos: 1, eos: 2, pad: -1, normName: "identity",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokenizer.model")
			args, _ := json.Marshal(c.args)
			user, _ := json.Marshal(c.user)
			out := oracle.Run(t, []string{"sentencepiece"}, spmCorpus+spmDump+`
kw = json.loads(sys.argv[1])
with open(sys.argv[2], "wb") as f:
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus()), model_writer=f, minloglevel=2, **kw)
dump(sys.argv[2], set(json.loads(sys.argv[3]) or []))
`, string(args), path, string(user))
			var py spmPython
			if err := json.Unmarshal(out, &py); err != nil {
				t.Fatalf("python output: %v\n%s", err, out)
			}
			if py.Error != "" {
				t.Fatalf("sentencepiece cannot load its own model: %s", py.Error)
			}
			m, err := ReadModelFile(path)
			if err != nil {
				t.Fatal(err)
			}
			compareWithPython(t, m, &py)

			tr := m.Trainer
			if tr.ModelType != c.modelType || tr.ByteFallback != c.byteFallback ||
				tr.UnkID != c.unk || tr.BosID != c.bos || tr.EosID != c.eos || tr.PadID != c.pad {
				t.Errorf("trainer spec %+v, want model_type %v byte_fallback %v ids %d/%d/%d/%d",
					tr, c.modelType, c.byteFallback, c.unk, c.bos, c.eos, c.pad)
			}
			// The char trainer ignores hard_vocab_limit and records the size
			// it reached.
			want, _ := c.args["vocab_size"].(int)
			if c.modelType == Char {
				want = len(py.Pieces)
			}
			if int(tr.VocabSize) != want {
				t.Errorf("trainer vocab_size %d, want %d", tr.VocabSize, want)
			}
			unkP, bosP, eosP, padP := m.SpecialPieces()
			for _, p := range []struct{ got, want, def string }{
				{unkP, c.unkP, "<unk>"}, {bosP, c.bosP, "<s>"}, {eosP, c.eosP, "</s>"}, {padP, c.padP, "<pad>"},
			} {
				if p.want == "" {
					p.want = p.def
				}
				if p.got != p.want {
					t.Errorf("special piece %q, want %q", p.got, p.want)
				}
			}
			if m.Normalizer.Name != c.normName || m.Normalizer.AddDummyPrefix != c.dummyPrefix {
				t.Errorf("normalizer %+v, want name %q add_dummy_prefix %v", m.Normalizer, c.normName, c.dummyPrefix)
			}
			if c.byteFallback {
				n := 0
				for _, p := range m.Pieces {
					if p.Type == Byte {
						n++
					}
				}
				if n != 256 {
					t.Errorf("%d byte pieces, want 256", n)
				}
			}

			in, err := SentencePieceFile(path, true)
			if err != nil {
				t.Fatal(err)
			}
			if in.Class != SentencePieceClass || in.Arg != "model_path" || in.Path != "tokenizer.model" ||
				in.VocabSize != len(py.Pieces) || in.MaxID != len(py.Pieces)-1 || !in.Legacy ||
				in.BOS != py.Bos || in.EOS != py.Eos || in.PAD != py.Pad || in.UNK != py.Unk ||
				in.ModelType != c.modelType.String() {
				t.Errorf("Info %+v does not match sentencepiece (%d pieces, ids %d/%d/%d/%d)",
					in, len(py.Pieces), py.Unk, py.Bos, py.Eos, py.Pad)
			}
		})
	}
}

// TestSentencePieceSeedsMatchPython checks the committed fuzz seeds the
// same way, so that the seeds stay real models.
func TestSentencePieceSeedsMatchPython(t *testing.T) {
	seeds, _ := filepath.Glob("testdata/*.model")
	if len(seeds) == 0 {
		t.Fatal("no seed models in testdata")
	}
	for _, s := range seeds {
		t.Run(filepath.Base(s), func(t *testing.T) {
			m, err := ReadModelFile(s)
			if err != nil {
				t.Fatal(err)
			}
			compareWithPython(t, m, pythonDump(t, s, []string{"<sep>"}))
		})
	}
}

// Helpers that build ModelProto bytes by hand, for the cases a trainer
// never writes.
type pb []byte

func (b pb) str(num protowire.Number, s string) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}
func (b pb) msg(num protowire.Number, m pb) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}
func (b pb) varint(num protowire.Number, v int64) pb {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}
func (b pb) f32(num protowire.Number, f float32) pb {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(f))
}

func piece(s string, score float32, typ PieceType) pb {
	return pb(nil).str(fPiecePiece, s).f32(fPieceScore, score).varint(fPieceType, int64(typ))
}

func modelOf(pieces []pb, trainer, normalizer pb) []byte {
	var b pb
	for _, p := range pieces {
		b = b.msg(fModelPieces, p)
	}
	if trainer != nil {
		b = b.msg(fModelTrainer, trainer)
	}
	if normalizer != nil {
		b = b.msg(fModelNormalizer, normalizer)
	}
	return b
}

func basicPieces() []pb {
	return []pb{piece("<unk>", 0, Unknown), piece("<s>", 0, Control), piece("</s>", 0, Control),
		piece("▁a", -1, Normal), piece("b", -2.5, Normal)}
}

// TestSentencePieceHandMadeAgainstPython writes models Go builds by hand
// (defaults left out, special pieces that disagree with the id fields,
// unknown fields, broken models) and checks that Go and sentencepiece agree
// on each: same ids when both load it, an error from both when not.
func TestSentencePieceHandMadeAgainstPython(t *testing.T) {
	withByteFallback := pb(nil).varint(fTrainerByteFallback, 1)
	bytePieces := func(skip int) []pb {
		ps := basicPieces()
		for c := 0; c < 256; c++ {
			if c != skip {
				ps = append(ps, piece(byteName(c), 0, Byte))
			}
		}
		return ps
	}
	cases := []struct {
		name  string
		data  []byte
		valid bool
	}{
		{"no-specs", modelOf(basicPieces(), nil, nil), true},
		{"empty-specs", modelOf(basicPieces(), pb{}, pb{}), true},
		{"renamed-bos-not-control", modelOf(basicPieces(), pb(nil).str(fTrainerBosPiece, "b").varint(fTrainerBosID, 4), nil), true},
		{"renamed-eos-control", modelOf(append(basicPieces(), piece("<eos>", 0, Control)),
			pb(nil).str(fTrainerEosPiece, "<eos>"), nil), true},
		{"pad-piece-present", modelOf(append(basicPieces(), piece("<pad>", 0, Control)), pb(nil).varint(fTrainerPadID, 5), nil), true},
		{"unknown-fields", append(modelOf(basicPieces(), pb(nil).varint(fTrainerUnkID, 0).varint(199, 7).str(1, "corpus.txt"),
			pb(nil).str(fNormName, "identity").varint(17, 3).varint(fNormAddDummyPrefix, 0)),
			pb(nil).msg(4, pb(nil).msg(1, pb(nil).str(1, "in").str(2, "out"))).varint(300, 1).f32(301, 1)...), true},
		{"user-defined-and-unused", modelOf(append(basicPieces(), piece("<x>", 0, UserDefined), piece("zz", 0, Unused)), nil, nil), true},
		{"byte-fallback", modelOf(bytePieces(-1), withByteFallback, nil), true},
		{"byte-fallback-missing-byte", modelOf(bytePieces(0x41), withByteFallback, nil), false},
		{"byte-without-fallback", modelOf(append(basicPieces(), piece("<0x41>", 0, Byte)), nil, nil), false},
		{"bad-byte-piece", modelOf(append(bytePieces(-1), piece("<0xZZ>", 0, Byte)), withByteFallback, nil), false},
		{"no-unk", modelOf(basicPieces()[1:], nil, nil), false},
		{"two-unk", modelOf(append(basicPieces(), piece("<unk2>", 0, Unknown)), nil, nil), false},
		{"duplicate-normal", modelOf(append(basicPieces(), piece("b", 0, UserDefined)), nil, nil), false},
		{"duplicate-reserved", modelOf(append(basicPieces(), piece("<s>", 0, Control)), nil, nil), false},
		{"same-text-two-namespaces", modelOf(append(basicPieces(), piece("<s>", 0, Normal)), nil, nil), true},
		{"empty-piece", modelOf(append(basicPieces(), piece("", 0, Normal)), nil, nil), false},
		{"no-pieces", modelOf(nil, pb(nil).varint(fTrainerVocabSize, 10), nil), false},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".model")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := ParseModel(c.data)
			if (err == nil) != c.valid {
				t.Fatalf("Go: err = %v, want valid=%v", err, c.valid)
			}
			py := pythonDump(t, path, []string{"<x>"})
			if (py.Error == "") != c.valid {
				t.Fatalf("sentencepiece: error %q, want valid=%v", py.Error, c.valid)
			}
			if c.valid {
				compareWithPython(t, m, py)
			}
		})
	}
}

func byteName(c int) string {
	const hex = "0123456789ABCDEF"
	return "<0x" + string(hex[c>>4]) + string(hex[c&15]) + ">"
}

// TestSentencePieceDefaults checks that proto2 defaults apply to absent
// fields and that explicit values override them.
func TestSentencePieceDefaults(t *testing.T) {
	m, err := ParseModel(modelOf(basicPieces(), nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := TrainerSpec{ModelType: Unigram, VocabSize: 8000, UnkID: 0, BosID: 1, EosID: 2, PadID: -1}
	if m.Trainer != want {
		t.Errorf("defaults %+v, want %+v", m.Trainer, want)
	}
	if !m.Normalizer.AddDummyPrefix || !m.Normalizer.RemoveExtraWhitespaces || !m.Normalizer.EscapeWhitespaces || m.Normalizer.Name != "" {
		t.Errorf("normalizer defaults %+v", m.Normalizer)
	}
	if m.UnkID() != 0 || m.BosID() != 1 || m.EosID() != 2 || m.PadID() != -1 {
		t.Errorf("ids %d %d %d %d", m.UnkID(), m.BosID(), m.EosID(), m.PadID())
	}
	unk, bos, eos, pad := m.SpecialPieces()
	if unk != "<unk>" || bos != "<s>" || eos != "</s>" || pad != "<pad>" {
		t.Errorf("special pieces %q %q %q %q", unk, bos, eos, pad)
	}

	tr := pb(nil).varint(fTrainerModelType, int64(BPE)).varint(fTrainerVocabSize, 5).
		varint(fTrainerUnkID, 0).varint(fTrainerBosID, -1).varint(fTrainerEosID, 2).varint(fTrainerPadID, 1).
		str(fTrainerPadPiece, "<s>")
	m, err = ParseModel(modelOf(basicPieces(), tr, pb(nil).varint(fNormAddDummyPrefix, 0).str(fNormName, "nfkc")))
	if err != nil {
		t.Fatal(err)
	}
	want = TrainerSpec{ModelType: BPE, VocabSize: 5, UnkID: 0, BosID: -1, EosID: 2, PadID: 1, PadPiece: "<s>"}
	if m.Trainer != want {
		t.Errorf("explicit %+v, want %+v", m.Trainer, want)
	}
	if m.Normalizer.AddDummyPrefix || m.Normalizer.Name != "nfkc" {
		t.Errorf("normalizer %+v", m.Normalizer)
	}
	// bos_piece is still "<s>" and a CONTROL piece, so the processor finds
	// it whatever bos_id says; pad_piece "<s>" is CONTROL too.
	if m.BosID() != 1 || m.PadID() != 1 {
		t.Errorf("bos %d pad %d, want 1 1", m.BosID(), m.PadID())
	}
}

func TestSentencePieceErrors(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no pieces"},
		{"truncated", modelOf(basicPieces(), nil, nil)[:20], "malformed"},
		{"score-as-varint", modelOf(append(basicPieces(), pb(nil).str(fPiecePiece, "q").varint(fPieceScore, 1)), nil, nil), "SentencePiece.score"},
		{"pieces-as-varint", pb(nil).varint(fModelPieces, 1), "ModelProto.pieces"},
		{"trainer-as-fixed", pb(nil).f32(fModelTrainer, 1), "ModelProto.trainer_spec"},
		{"vocab-size-as-string", modelOf(basicPieces(), pb(nil).str(fTrainerVocabSize, "x"), nil), "TrainerSpec.vocab_size"},
		{"bos-piece-as-varint", modelOf(basicPieces(), pb(nil).varint(fTrainerBosPiece, 1), nil), "TrainerSpec.bos_piece"},
		{"dummy-prefix-as-string", modelOf(basicPieces(), nil, pb(nil).str(fNormAddDummyPrefix, "x")), "add_dummy_prefix"},
		{"unknown-piece-type", modelOf(append(basicPieces(), piece("q", 0, 9)), nil, nil), "unknown piece type 9"},
		{"negative-piece-type", modelOf(append(basicPieces(), piece("q", 0, -1)), nil, nil), "unknown piece type -1"},
		{"unknown-model-type", modelOf(basicPieces(), pb(nil).varint(fTrainerModelType, 7), nil), "unknown model_type 7"},
		{"unk-id-out-of-range", modelOf(basicPieces(), pb(nil).varint(fTrainerUnkID, 5), nil), "unk_id 5"},
		{"unk-id-minus-one", modelOf(basicPieces(), pb(nil).varint(fTrainerUnkID, -1), nil), "unk_id -1"},
		{"pad-id-out-of-range", modelOf(basicPieces(), pb(nil).varint(fTrainerPadID, 99), nil), "pad_id 99"},
		{"bos-id-below-minus-one", modelOf(basicPieces(), pb(nil).varint(fTrainerBosID, -2), nil), "bos_id -2"},
		{"not-a-model", []byte(`{"model": "json"}`), "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseModel(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestSentencePieceFileChecks(t *testing.T) {
	dir := t.TempDir()
	// A sparse file over the limit is refused before it is read.
	big := filepath.Join(dir, "big.model")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxModelSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := ReadModelFile(big); err == nil || !strings.Contains(err.Error(), "limit") || !strings.Contains(err.Error(), big) {
		t.Errorf("oversized model: %v", err)
	}
	if _, err := SentencePieceFile(big, false); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized model: %v", err)
	}
	if _, err := ReadModelFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	bad := filepath.Join(dir, "bad.model")
	os.WriteFile(bad, []byte("garbage that is not a model"), 0o644)
	if _, err := SentencePieceFile(bad, false); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad model: error %v should name the file", err)
	}
	if _, err := SentencePieceFile(filepath.Join(dir, "missing.model"), false); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := SentencePieceBytes(modelOf(basicPieces(), nil, nil), "../x.model", "test", false); err == nil {
		t.Error("name with a path accepted")
	}
}

// TestSentencePieceWriteFiles checks that the bytes written into context/
// are the model's, under its own name, and that nothing is overwritten.
func TestSentencePieceWriteFiles(t *testing.T) {
	data, err := os.ReadFile("testdata/spm_unigram.model")
	if err != nil {
		t.Fatal(err)
	}
	in, err := SentencePieceBytes(data, "0123abcd_tokenizer.model", "model.nemo:./0123abcd_tokenizer.model", false)
	if err != nil {
		t.Fatal(err)
	}
	if in.Path != "0123abcd_tokenizer.model" || len(in.Files) != 1 || in.Files[0].Name != in.Path {
		t.Fatalf("Info %+v", in)
	}
	ctx := t.TempDir()
	if err := in.WriteFiles(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(ctx, in.Path))
	if err != nil || string(got) != string(data) {
		t.Fatalf("written file differs (%v)", err)
	}
	if err := in.WriteFiles(ctx); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second write: %v", err)
	}
	if ents, _ := os.ReadDir(ctx); len(ents) != 1 {
		t.Errorf("context holds %d entries, want 1 (no temporary files left)", len(ents))
	}
}

func TestReadModel(t *testing.T) {
	data, err := os.ReadFile("testdata/spm_bpe_bytes.model")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadModel(bytes.NewReader(data), int64(len(data)))
	if err != nil || m.VocabSize() != 420 {
		t.Fatalf("%v, %d pieces", err, len(m.Pieces))
	}
	if _, err := ReadModel(bytes.NewReader(data), int64(len(data))+1); err == nil {
		t.Error("short reader accepted")
	}
	if _, err := ReadModel(bytes.NewReader(nil), MaxModelSize+1); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("oversized: %v", err)
	}
}
