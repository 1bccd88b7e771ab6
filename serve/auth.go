package serve

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// errUnauthenticated never says what the token is or was.
var errUnauthenticated = status.Error(codes.Unauthenticated,
	"serve: missing or wrong bearer token: send the header authorization: Bearer <token>")

// ServerOptions are the gRPC server options a Handler needs: bearer-token
// authentication when Options.Token is set, and recovery, so that a panic
// fails its call instead of the server.
func (h *Handler) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recoverUnary, h.authUnary),
		grpc.ChainStreamInterceptor(recoverStream, h.authStream),
	}
}

// authorized checks the call's bearer token in constant time.
func (h *Handler) authorized(ctx context.Context) error {
	if h.opts.Token == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	want := []byte(h.opts.Token)
	for _, v := range md.Get("authorization") {
		scheme, tok, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "Bearer") &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), want) == 1 {
			return nil
		}
	}
	return errUnauthenticated
}

func (h *Handler) authUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if err := h.authorized(ctx); err != nil {
		return nil, err
	}
	return next(ctx, req)
}

func (h *Handler) authStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	if err := h.authorized(ss.Context()); err != nil {
		return err
	}
	return next(srv, ss)
}

// panicError is the status of a call that panicked: a bug, reported
// with where it happened.
func panicError(method string, v any) error {
	return status.Error(codes.Internal, fmt.Sprintf("serve: internal error in %s: %v", method, v))
}

func recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if v := recover(); v != nil {
			resp, err = nil, panicError(info.FullMethod, v)
		}
	}()
	return next(ctx, req)
}

func recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(info.FullMethod, v)
		}
	}()
	return next(srv, ss)
}
