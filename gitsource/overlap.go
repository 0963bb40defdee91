package gitsource

import (
	"path"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/pkg/errors"
)

// WithAutoExcludes returns copies of an image's git mappings in which an
// outer mapping excludes the paths that inner mappings own: for `to: /app`
// and `to: /app/vendor/lib`, the first one gets `vendor/lib` excluded, as
// dapp does. Two mappings with the same `to` cannot be separated that way;
// that is a LocationError pointing at both. The input is not modified.
func WithAutoExcludes(ms []*dappfile.GitMapping) ([]*dappfile.GitMapping, error) {
	out := make([]*dappfile.GitMapping, len(ms))
	for i, m := range ms {
		c := *m
		c.ExcludePaths = append([]string(nil), m.ExcludePaths...)
		out[i] = &c
	}
	for i, outer := range out {
		for j, inner := range ms {
			if i == j {
				continue
			}
			rel, ok, err := innerPath(outer.To, inner.To)
			if err != nil {
				return nil, &dappfile.LocationError{
					Ranges: []dappfile.Range{inner.Loc, ms[i].Loc},
					Err:    err,
				}
			}
			if ok {
				outer.ExcludePaths = append(outer.ExcludePaths, escapePattern(rel))
			}
		}
	}
	return out, nil
}

// innerPath returns inner relative to outer when inner lies below outer.
func innerPath(outer, inner string) (string, bool, error) {
	o, in := path.Clean("/"+outer), path.Clean("/"+inner)
	if o == in {
		return "", false, errors.Errorf("git mappings conflict: two mappings put files into %q", o)
	}
	prefix := strings.TrimSuffix(o, "/") + "/"
	if !strings.HasPrefix(in, prefix) {
		return "", false, nil
	}
	return strings.TrimPrefix(in, prefix), true, nil
}

// escapePattern quotes glob characters so a literal path stays literal.
func escapePattern(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
