package main

import "go.uber.org/zap"

// lockMemory carries out --mlock once the model, its engine and KV cache
// are in memory: every page the process has in memory is locked there,
// and every page of those mappings faulted in later (the KV cache as it
// fills), so the system never pages the model out (llama.cpp's --mlock
// locks its mapping of the model). Pages never touched take no memory:
// the GGUF's pages given back after repacking stay out. Memory mapped
// later (an activation buffer that grows for a longer batch) is not
// locked. Where the system refuses, it is a warning naming the limit, as
// llama.cpp's is: the server runs unlocked.
func lockMemory(log *zap.Logger) {
	if err := lockProcessMemory(); err != nil {
		log.Warn("--mlock: memory not locked", zap.Error(err))
		return
	}
	fields := []zap.Field{zap.String("how", "every page in memory now, and each page of the same mappings as it is first touched")}
	if n, err := lockedBytes(); err == nil {
		fields = append(fields, zap.Int64("locked_bytes", n))
	}
	log.Info("--mlock: memory locked", fields...)
}
