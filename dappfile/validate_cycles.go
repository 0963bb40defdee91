package dappfile

import (
	"fmt"
	"strings"
)

// edge is a dependency of one image on another: its base or an import.
type edge struct {
	to  *Image
	key string
	loc Range
}

// dependencies lists what im builds on, resolved by name; unknown names
// were reported by checkRef.
func (p *parser) dependencies(im *Image, n names) []edge {
	var out []edge
	if t := n.images[im.FromDimg]; im.FromDimg != "" && t != nil {
		out = append(out, edge{t, "fromDimg", im.FromLoc})
	}
	if t := n.artifacts[im.FromDimgArtifact]; im.FromDimgArtifact != "" && t != nil {
		out = append(out, edge{t, "fromDimgArtifact", im.FromLoc})
	}
	for i, imp := range im.Imports {
		t := n.artifacts[imp.Artifact]
		if imp.AnyKind {
			t = n.lookup(imp.Artifact)
		}
		if imp.Artifact != "" && t != nil {
			out = append(out, edge{t, fmt.Sprintf("import[%d]", i), p.importLocs[imp]})
		}
	}
	return out
}

// checkCycles reports each dependency cycle once, at the reference that
// closes it. Self-references were reported by checkRef.
func (p *parser) checkCycles(cfg *Config, n names) {
	const (
		unvisited = iota
		active
		done
	)
	state := map[*Image]int{}
	var stack []*Image
	var visit func(im *Image)
	visit = func(im *Image) {
		state[im] = active
		stack = append(stack, im)
		for _, e := range p.dependencies(im, n) {
			switch {
			case e.to == im:
			case state[e.to] == active:
				p.errorAt(e.loc, fmt.Errorf("dependency cycle through `%s`: %s", e.key, cyclePath(stack, e.to)))
			case state[e.to] == unvisited:
				visit(e.to)
			}
		}
		stack = stack[:len(stack)-1]
		state[im] = done
	}
	for _, im := range cfg.Images {
		if state[im] == unvisited {
			visit(im)
		}
	}
}

// cyclePath renders the cycle from target to the top of the stack and back.
func cyclePath(stack []*Image, target *Image) string {
	var parts []string
	for i := len(stack) - 1; i >= 0; i-- {
		parts = append([]string{refName(stack[i])}, parts...)
		if stack[i] == target {
			break
		}
	}
	return strings.Join(append(parts, refName(target)), " -> ")
}

func refName(im *Image) string {
	return fmt.Sprintf("%s %q", im.Kind, im.Name)
}
