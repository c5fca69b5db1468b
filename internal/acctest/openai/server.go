package openai

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a stand-in listening on a TCP address, for in-process use in tests.
type Server struct {
	// URL is the server's base URL without a trailing slash, e.g. "http://127.0.0.1:41234";
	// the OpenAI base URL is URL + "/v1".
	URL string
	// Addr is the address it listens on, "host:port".
	Addr string

	srv  *http.Server
	done chan error
}

// Start serves a stand-in on a free port of 127.0.0.1 until Close.
func Start(opts Options) (*Server, error) {
	return StartAt("127.0.0.1:0", opts)
}

// StartAt serves a stand-in on addr ("host:port"; port 0 picks a free one) until Close.
func StartAt(addr string, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return Serve(ln, opts), nil
}

// Serve serves a stand-in on ln until Close; Close closes ln.
func Serve(ln net.Listener, opts Options) *Server {
	s := &Server{
		URL:  "http://" + ln.Addr().String(),
		Addr: ln.Addr().String(),
		srv: &http.Server{
			Handler:           NewHandler(opts),
			ReadHeaderTimeout: 10 * time.Second,
		},
		done: make(chan error, 1),
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s
}

// Done yields one value once the server has stopped: the serve error, or nil after Close or
// Shutdown.
func (s *Server) Done() <-chan error { return s.done }

// Close stops the server at once, dropping open connections.
func (s *Server) Close() error {
	if err := s.srv.Close(); err != nil {
		return fmt.Errorf("closing stand-in %s: %w", s.Addr, err)
	}
	return nil
}

// Shutdown stops the server gracefully: no new connections, open requests finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutting down stand-in %s: %w", s.Addr, err)
	}
	return nil
}
