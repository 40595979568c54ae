//go:build !unix

package server

func processCPUSeconds() (float64, bool) { return 0, false }
func processRSS() (int64, bool)          { return 0, false }
