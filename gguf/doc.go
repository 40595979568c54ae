// Package gguf reads and writes GGUF files, the container llama.cpp uses
// for models and vocabularies (versions 2 and 3).
//
// Reading: Open maps the file into memory and parses the header, the
// metadata key/value pairs (in file order, every value type including
// nested arrays) and the tensor infos. Tensor data is never copied:
// TensorData returns a view into the mapping, valid until Close.
//
// The reader treats every file as hostile. Every count and length is checked
// against the bytes that remain in the file before anything is allocated,
// tensor ranges are checked against the file and against each other, and
// every problem is reported as an error wrapping ErrCorrupt that names the
// byte offset and the key or tensor concerned. The reader never panics on
// bad input; FuzzRead exercises that.
//
// Writing: a Writer collects key/value pairs and tensor infos first, then
// streams the tensor data tensor by tensor, so a model never has to sit in
// memory as a whole. Offsets and padding follow llama.cpp's strict rule
// (each tensor's offset is the sum of the padded sizes of the ones before).
package gguf
