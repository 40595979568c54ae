package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
)

// certCheckEvery is how often, at most, a TLS handshake looks whether the
// certificate files changed on disk.
const certCheckEvery = 10 * time.Second

// certReloader serves a certificate and key pair from files, reloading
// them when they change (a certificate renewed by cert-manager or certbot
// is taken up without a restart). A pair that fails to load keeps the
// previous one in service and is logged.
type certReloader struct {
	certFile, keyFile string
	log               *zap.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time // the later of the two files' modification times
	checked time.Time
}

// newCertReloader loads the pair once, failing if it cannot.
func newCertReloader(certFile, keyFile string, log *zap.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	mt, err := r.modified()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	r.cert, r.modTime, r.checked = &cert, mt, time.Now()
	return r, nil
}

// modified returns the later modification time of the two files.
func (r *certReloader) modified() (time.Time, error) {
	var latest time.Time
	for _, f := range []string{r.certFile, r.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return time.Time{}, fmt.Errorf("TLS: %w", err)
		}
		if st.ModTime().After(latest) {
			latest = st.ModTime()
		}
	}
	return latest, nil
}

// getCertificate is tls.Config.GetCertificate.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) < certCheckEvery {
		return r.cert, nil
	}
	r.checked = time.Now()
	mt, err := r.modified()
	if err != nil || mt.Equal(r.modTime) {
		if err != nil {
			r.log.Warn("TLS certificate check", zap.Error(err))
		}
		return r.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		// Often the two files are being replaced one after the other:
		// keep serving the old pair and look again later.
		r.log.Warn("TLS certificate changed but does not load; keeping the previous one", zap.String("cert", r.certFile), zap.Error(err))
		return r.cert, nil
	}
	r.cert, r.modTime = &cert, mt
	r.log.Info("TLS certificate reloaded", zap.String("cert", r.certFile))
	return r.cert, nil
}

// tlsConfig is the server's TLS configuration over r.
func (r *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{GetCertificate: r.getCertificate, MinVersion: tls.VersionTLS12}
}
