// Package conformance is the test kit every backend runs: each op, with
// each weight (or KV cache) type it could be asked to handle, on awkward
// shapes — one block, odd block counts, row counts that are not multiples
// of any tile, batches of 1 to 17 rows, in-place operands, GQA, sliding
// windows, scattered KV blocks, caches whose K and V types differ (for a
// device that takes them: backends.KVTypeMixer) — against the CPU
// reference device.
//
// Every comparison checks, in order:
//   - that the device accepted the op if it Supports it, and refused it
//     cleanly (an error wrapping backends.ErrUnsupportedOp) if it does not;
//   - guard regions: every output lives between two guard regions filled
//     with a sentinel, and a write outside the output fails the case;
//   - NaN/Inf agreement: where the reference is NaN the device must be NaN,
//     where it is ±Inf the device must be the same Inf, and the device must
//     not produce non-finite values where the reference is finite (some
//     cases feed NaN and Inf on purpose);
//   - error limits over the finite values: the relative RMS error and the
//     largest error relative to the output's largest magnitude, with limits
//     per op and type (see Limits for each value and why).
//
// A backend's test calls Run(t, dev); `nuri devices --conformance` calls
// Matrix and prints the support/pass table. CompareLogits is the
// end-to-end measure (top-1 agreement and error of a model's logits) used
// by the per-device end-to-end tests.
package conformance
