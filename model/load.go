package model

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/kernels"
)

// LoadOptions configures Load.
type LoadOptions struct {
	// Device runs the model. nil: a CPU device with Threads workers, owned
	// by the model and closed with it.
	Device  backends.Device
	Threads int
	// NCtx caps positions (0: the model's training context). A token at a
	// position >= NCtx is rejected with ErrContextFull.
	NCtx int
	// Kernels is the kernel set of the CPU device created here (with no
	// Device): the best this CPU has (the zero value), only AVX2's, or the
	// pure-Go reference (NURI_KERNELS=avx2 or generic).
	Kernels kernels.KernelSet
	Logger  *zap.Logger
	// LoRA adapters applied at run time, summed (see LoRA).
	LoRA []LoRA
}

// layer holds one decoder block's weights. Optional tensors are the zero
// Tensor when absent.
type layer struct {
	attnNorm, ffnNorm         backends.Tensor // pre-norms (not exaone4)
	postAttnNorm, postFFNNorm backends.Tensor // post-norms (exaone4)
	qNorm, kNorm              backends.Tensor // per-head norms (qwen3, exaone4)
	wq, wk, wv, wo            backends.Tensor
	bq, bk, bv, bo            backends.Tensor
	gate, up, down            backends.Tensor
	bGate, bUp, bDown         backends.Tensor
	// Mixture of experts (moe.go): the router, and each expert's matrices;
	// the shared expert and qwen2moe's gate for it (one row); the
	// router's selection bias (exaone-moe), on the host.
	router                  backends.Tensor
	gateExp, upExp, downExp []backends.Tensor
	shGate, shUp, shDown    backends.Tensor
	shGateInp               backends.Tensor
	expBias                 []float32
	// Multi-head latent attention (mla.go): the query latent and its norm
	// (absent in the lite form), the query's unrotated and rotated rows,
	// the KV latent's and the shared rotated key's rows, the latent's
	// norm, and each head's k_b and v_b.
	wqA, qANorm  backends.Tensor
	wqNope, wqPe backends.Tensor
	wkvC, wkPe   backends.Tensor
	kvANorm      backends.Tensor
	wkB, wvB     []backends.Tensor
	g4           gemma4Layer // Gemma 4's extras (gemma4.go)
	// An encoder's LayerNorms after the attention's and the feed-forward
	// block's residual sums (attn_output_norm, layer_output_norm): weight
	// and bias.
	lnAttn, lnAttnB, lnOut, lnOutB backends.Tensor
	// LoRA adapters' pairs on each matrix (LoadOptions.LoRA).
	lq, lk, lv, lo, lgate, lup, ldown []loraPair
	window                            int  // sliding window (0: full causal)
	rope                              bool // apply RoPE to Q and K
}

// transformer is the one decoder implementation behind every architecture.
type transformer struct {
	spec archSpec
	hp   *hparams
	nCtx int

	file   *gguf.File
	dev    backends.Device
	ownDev bool
	stream backends.Stream
	log    *zap.Logger
	vec    kernels.VecOps // host-side vector loops (Gemma's logit soft cap)

	tokEmbd, outNorm, output, outBias, ropeFreqs backends.Tensor
	layers                                       []layer
	// An encoder's position and token-type embeddings and the LayerNorm
	// of their sum (encoder.go); typeIdx is a pass's row ids of token
	// type 0, attnPos its attention rows' positions, seqNext scratch
	// (encoderPlan).
	posEmbd, typeEmbd, embNorm, embNormB backends.Tensor
	typeIdx, attnPos, seqNext            []int32
	swaPos, swaLo                        []int32 // symmetric windows' rows (bidirectional models)
	// Gemma 4 (gemma4.go): the per-layer embeddings' table, projection
	// and norm, a vector of ones (V's weightless norm), and a pass's
	// per-layer input rows of one layer.
	pleTok, pleModelProj, pleProjNorm, ones backends.Tensor
	pleIdx                                  []int32
	// suppress are tokens whose logits are -Inf (Gemma 4's
	// tokenizer.ggml.suppress_tokens: image and audio markers its
	// checkpoints may otherwise emit).
	suppress []int32
	temps    []float32 // a pass's attention temperatures (Ministral 3)
	// dense2, dense3: a sentence-transformers model's projections of the
	// pooled embedding (EmbeddingGemma's dense_2, dense_3), on the host.
	dense2, dense3 backends.Tensor

	// A reranker's classification head (cls.output; head.go), and whether
	// the file has a language-model head besides.
	cls, clsBias backends.Tensor
	clsLabels    []string
	lmHead       bool
	// An encoder reranker's pooler before the head (cls.weight,
	// cls.bias; RoBERTa's dense + tanh).
	pooler, poolerBias backends.Tensor

	adapters          []boundAdapter // LoRA adapters' files, mapped, and their tensors
	loraOutput        []loraPair     // on the output matrix
	loraRank, loraOut int            // the largest rank, and rows of an adapted matrix
	loraScales        [][]float32    // per-request adapters' row scales, a buffer a call, reused (rowScales)
	loraCalls         int            // of them, used in this pass

	route routing // the last MoE layer's choice of experts (moe.go)
	// MLA's GetRows index lists for passes of mlaRows tokens, and the
	// per-head matmuls' argument lists (mla.go).
	mlaQIdx, mlaKIdx []int32
	mlaRows          int
	phDsts, phWs     []backends.Tensor
	phRows           []int
	mlaMM            [2][4]backends.Tensor // the projections' argument lists
	fwdErr           error                 // an error a Forward met mid-pass, outside the stream's own
	mu               sync.Mutex            // one Forward at a time: the stream and scratch are shared
	cfgMu            sync.Mutex            // guards hp.LoRA, which LoadLoRA and UnloadLoRA change, for Config
	act              arena
	acts             acts                  // the views of act, laid out per Forward
	pl               plan                  // the last Forward's plan, its buffers reused
	outBuf           *backends.HostBuffer  // the last logits buffer wrapped for the stream (logitsIn)
	mm               [2][3]backends.Tensor // linears' argument lists (no allocation per layer)
	closed           bool
}

// Load maps the GGUF file at path and builds the model registered for its
// general.architecture. Weights stay in the mapping (no copies).
func Load(path string, opts LoadOptions) (Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	m, err := LoadFile(f, opts)
	if err != nil {
		_ = f.Close() // the load error is the one to report
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	m.(*transformer).file = f // closed with the model
	return m, nil
}

// ReadConfig reads a model's Config from f's metadata alone, reading no
// tensor: what inspecting a file and planning memory need.
func ReadConfig(f *gguf.File) (Config, error) {
	spec, ok := lookupArch(f.Arch())
	if !ok {
		return Config{}, fmt.Errorf("general.architecture %q (supported: %v): %w", f.Arch(), SupportedArchs(), ErrUnsupportedArch)
	}
	hp, err := readHParams(f, spec)
	if err != nil {
		return Config{}, err
	}
	return hp.Config, nil
}

// LoadFile builds a model over an open GGUF file, which the caller keeps
// open (and closes) for the model's lifetime.
func LoadFile(f *gguf.File, opts LoadOptions) (Model, error) {
	arch := f.Arch()
	spec, ok := lookupArch(arch)
	if !ok {
		return nil, fmt.Errorf("general.architecture %q (supported: %v): %w", arch, SupportedArchs(), ErrUnsupportedArch)
	}
	hp, err := readHParams(f, spec)
	if err != nil {
		return nil, err
	}
	m := &transformer{spec: spec, hp: hp, nCtx: hp.NCtxTrain, log: opts.Logger, dev: opts.Device, vec: kernels.VecOpsFor(opts.Kernels)}
	if opts.NCtx > 0 {
		m.nCtx = opts.NCtx
	}
	if m.log == nil {
		m.log = zap.NewNop()
	}
	if spec.encoder && m.nCtx > hp.NCtxTrain {
		m.nCtx = hp.NCtxTrain // positions index position_embd's rows
	}
	if m.dev == nil {
		d := cpu.New(opts.Threads)
		d.SetKernelSet(opts.Kernels)
		m.dev, m.ownDev = d, true
	}
	if err := m.bind(newBinder(f, m.dev)); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	if err := m.bindLoRA(opts.LoRA); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	if m.stream, err = m.dev.NewStream(); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	if err := m.checkRowScaler(); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	if _, ok := m.stream.(backends.GELUMuler); m.spec.gemma && !ok {
		err := fmt.Errorf("%s: device %s has no gelu_mul (GELU-gated feed-forward): %w", arch, m.dev.Name(), backends.ErrUnsupportedOp)
		return nil, errors.Join(err, m.Close())
	}
	if err := m.checkEncoderOps(); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	if hp.swaSymmetric && !backends.StartsAttentionRows(m.dev) {
		err := fmt.Errorf("%s: device %s does not take each row's first key position (symmetric windows): %w", arch, m.dev.Name(), backends.ErrUnsupportedOp)
		return nil, errors.Join(err, m.Close())
	}
	if hp.attnSoftCap > 0 && !backends.SoftCapsAttention(m.dev) {
		err := fmt.Errorf("%s: device %s does not soft-cap attention scores: %w", arch, m.dev.Name(), backends.ErrUnsupportedOp)
		return nil, errors.Join(err, m.Close())
	}
	m.log.Info("model loaded", zap.String("arch", arch), zap.Int("n_layer", hp.NLayer),
		zap.Int("n_embd", hp.NEmbd), zap.Int("n_vocab", hp.NVocab), zap.String("device", m.dev.Name()))
	for _, ad := range opts.LoRA {
		m.log.Info("lora adapter", zap.String("path", ad.Path), zap.Float32("scale", ad.Scale), zap.String("name", ad.Name))
	}
	return m, nil
}

// bind claims every tensor the architecture needs, by name.
func (m *transformer) bind(b *binder) error {
	if m.spec.modernBert {
		return m.bindModernBert(b)
	}
	if m.spec.encoder {
		return m.bindEncoder(b)
	}
	hp, s := m.hp, m.spec
	if err := m.readVocabSize(b); err != nil {
		return err
	}
	E, V := hp.NEmbd, hp.NVocab
	var err error
	// Without an output.weight the lm_head reuses the embedding (tied), so
	// only then is it a matmul weight too.
	bindEmbd := b.weight
	if _, untied := b.f.Tensor("output.weight"); untied {
		bindEmbd = b.lookupWeight
	}
	if m.tokEmbd, err = bindEmbd("token_embd.weight", E, V); err != nil {
		return err
	}
	if m.outNorm, err = b.vector("output_norm.weight", E); err != nil {
		return err
	}
	var tied bool
	if m.output, tied, err = b.optional("output.weight", E, V); err != nil {
		return err
	}
	if !tied { // tied embeddings: the lm_head reuses token_embd
		m.output = m.tokEmbd
	}
	if s.outputBias {
		if m.outBias, _, err = b.optVector("output.bias", V); err != nil {
			return err
		}
	}
	if s.ropeFreqs {
		if m.ropeFreqs, _, err = b.optVector("rope_freqs.weight", hp.rope.NDims/2); err != nil {
			return err
		}
	}
	if err := m.bindClassifier(b); err != nil {
		return err
	}
	m.layers = make([]layer, hp.NLayer)
	bindLayer := m.bindLayer
	if s.gemma4 {
		if err := m.bindGemma4(b); err != nil {
			return err
		}
		bindLayer = m.bindGemma4Layer
	}
	for il := range m.layers {
		if err := bindLayer(b, il); err != nil {
			return err
		}
	}
	for il := hp.NLayer; il < hp.nLayerAll; il++ {
		b.skipBlock(il)
	}
	if s.bidirectional {
		// Embeddings only; the projections after pooling, when the
		// converter kept them (--sentence-transformers-dense-modules).
		m.lmHead, hp.NoLMHead = false, true
		var err error
		if m.dense2, err = bindDense(b, "dense_2.weight", E, 0); err != nil {
			return err
		}
		if m.dense3, err = bindDense(b, "dense_3.weight", m.dense2.Rows, E); err != nil {
			return err
		}
	}
	return b.checkAllUsed()
}

// bindLayer binds block il's tensors.
func (m *transformer) bindLayer(b *binder, il int) error {
	hp, s, L := m.hp, m.spec, &m.layers[il]
	E, F := hp.NEmbd, hp.NFF
	nq, nk, nv := hp.NHead*hp.HeadDimK, hp.NHeadKV*hp.HeadDimK, hp.NHeadKV*hp.HeadDimV
	var err error
	n, must, vec, opt := blockBinders(b, il, &err)
	if s.mla {
		err = m.bindMLA(b, il)
	} else {
		must(&L.wq, "attn_q.weight", E, nq)
		must(&L.wk, "attn_k.weight", E, nk)
		must(&L.wv, "attn_v.weight", E, nv)
		must(&L.wo, "attn_output.weight", hp.NHead*hp.HeadDimV, E)
	}
	if hp.NExpert > 0 && il >= hp.denseLead {
		FE, NE := hp.NFFExpert, hp.NExpert
		must(&L.router, "ffn_gate_inp.weight", E, NE)
		experts := func(dst *[]backends.Tensor, name string, cols, rows int) {
			if err == nil {
				*dst, err = b.experts(n(name), cols, rows, NE)
			}
		}
		if _, fused := b.f.Tensor(n("ffn_gate_up_exps.weight")); fused && err == nil {
			// llama.cpp's converter can fuse each expert's gate and up
			// (--fuse-gate-up-exps): its gate rows, then its up rows.
			var parts [][]backends.Tensor
			if parts, err = b.expertParts(n("ffn_gate_up_exps.weight"), E, 2*FE, NE, 2); err == nil {
				L.gateExp, L.upExp = parts[0], parts[1]
			}
		} else {
			experts(&L.gateExp, "ffn_gate_exps.weight", E, FE)
			experts(&L.upExp, "ffn_up_exps.weight", E, FE)
		}
		experts(&L.downExp, "ffn_down_exps.weight", FE, E)
		if s.moeMeta && err == nil {
			L.expBias, _, err = b.hostVector(n("exp_probs_b.bias"), NE)
		}
		if FS := hp.NFFShared; FS > 0 {
			if !s.sharedPlain {
				must(&L.shGateInp, "ffn_gate_inp_shexp.weight", E)
			}
			must(&L.shGate, "ffn_gate_shexp.weight", E, FS)
			must(&L.shUp, "ffn_up_shexp.weight", E, FS)
			must(&L.shDown, "ffn_down_shexp.weight", FS, E)
		}
	} else {
		must(&L.gate, "ffn_gate.weight", E, F)
		must(&L.up, "ffn_up.weight", E, F)
		must(&L.down, "ffn_down.weight", F, E)
	}
	if s.preNorm {
		vec(&L.attnNorm, "attn_norm.weight", E)
		ffnNorm := "ffn_norm"
		if s.ffnNorm != "" {
			ffnNorm = s.ffnNorm
		}
		vec(&L.ffnNorm, ffnNorm+".weight", E)
	}
	if s.postNorm {
		vec(&L.postAttnNorm, "post_attention_norm.weight", E)
		vec(&L.postFFNNorm, "post_ffw_norm.weight", E)
	}
	if s.qkNorm {
		vec(&L.qNorm, "attn_q_norm.weight", hp.HeadDimK)
		vec(&L.kNorm, "attn_k_norm.weight", hp.HeadDimK)
	}
	if s.qkNormOptional {
		opt(&L.qNorm, "attn_q_norm.weight", hp.HeadDimK)
		opt(&L.kNorm, "attn_k_norm.weight", hp.HeadDimK)
	}
	switch s.qkvBias {
	case biasRequired:
		vec(&L.bq, "attn_q.bias", nq)
		vec(&L.bk, "attn_k.bias", nk)
		vec(&L.bv, "attn_v.bias", nv)
	case biasOptional:
		opt(&L.bq, "attn_q.bias", nq)
		opt(&L.bk, "attn_k.bias", nk)
		opt(&L.bv, "attn_v.bias", nv)
	}
	if s.outBias {
		opt(&L.bo, "attn_output.bias", E)
	}
	if s.ffnBias {
		opt(&L.bGate, "ffn_gate.bias", F)
		opt(&L.bUp, "ffn_up.bias", F)
		opt(&L.bDown, "ffn_down.bias", E)
	}
	L.window = hp.swa[il]
	L.rope = hp.useRoPE && !hp.noRoPE[il]
	return err
}

// readVocabSize sets NVocab from token_embd.weight's shape.
func (m *transformer) readVocabSize(b *binder) error {
	ti, ok := b.f.Tensor("token_embd.weight")
	if !ok {
		return fmt.Errorf("tensor %q: %w", "token_embd.weight", ErrMissingTensor)
	}
	if len(ti.Dims) < 2 || ti.Dims[1] == 0 || ti.Dims[1] > math.MaxInt32 {
		return fmt.Errorf("tensor %q has shape %v, want [%d, n_vocab]: %w", ti.Name, ti.Dims, m.hp.NEmbd, ErrBadShape)
	}
	m.hp.NVocab = int(ti.Dims[1])
	return nil
}

// blockBinders returns block il's binding helpers: its tensors' full
// names, and binders of a required matrix, a required vector and an
// optional vector, each a no-op once *err is set and setting it on
// failure.
func blockBinders(b *binder, il int, err *error) (n func(string) string, must func(*backends.Tensor, string, ...int),
	vec, opt func(*backends.Tensor, string, int)) {
	n = func(what string) string { return fmt.Sprintf("blk.%d.%s", il, what) }
	must = func(dst *backends.Tensor, name string, dims ...int) {
		if *err == nil {
			*dst, *err = b.weight(n(name), dims...)
		}
	}
	vec = func(dst *backends.Tensor, name string, size int) {
		if *err == nil {
			*dst, *err = b.vector(n(name), size)
		}
	}
	opt = func(dst *backends.Tensor, name string, size int) {
		if *err == nil {
			*dst, _, *err = b.optVector(n(name), size)
		}
	}
	return n, must, vec, opt
}

// Config implements Model.
func (m *transformer) Config() Config {
	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	return m.hp.Config
}

// Close releases the device (when the model created it) and the mapping
// (when Load opened it).
func (m *transformer) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.outBuf = nil
	var errs []error
	if m.ownDev && m.dev != nil {
		errs = append(errs, m.dev.Close())
		m.dev = nil
	}
	if m.file != nil {
		errs = append(errs, m.file.Close())
		m.file = nil
	}
	errs = append(errs, m.closeAdapters())
	return errors.Join(errs...)
}
