package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

// StopTimeout is how long Serve lets running streams finish after its
// context ends before it cuts them.
const StopTimeout = 5 * time.Second

// Server is a gRPC server with a Handler mounted: Flight SQL over one
// dataset.
type Server struct {
	h *Handler
	g *grpc.Server
}

// NewServer returns a Server serving src.
func NewServer(src Source, opts Options) (*Server, error) {
	h, err := NewHandler(src, opts)
	if err != nil {
		return nil, err
	}
	g := grpc.NewServer(h.ServerOptions()...)
	h.Register(g)
	return &Server{h: h, g: g}, nil
}

// Handler is the server's Flight SQL handler.
func (s *Server) Handler() *Handler { return s.h }

// Serve serves on lis until ctx ends, then stops: streams still running
// end with an Unavailable status, other calls get StopTimeout to finish.
// It closes lis and the handler.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := s.g.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		// Streams end now, with an error status; other calls are short.
		s.h.cancel()
		t := time.AfterFunc(StopTimeout, s.g.Stop)
		defer t.Stop()
		s.g.GracefulStop()
		return nil
	})
	err := g.Wait()
	_ = s.h.Close()
	return err
}
