package dappfile

import (
	"fmt"
)

// Limits bound the work one Dappfile can cause. The frontend runs on
// shared builders and reads files anyone who opens a pull request
// controls, so every expansion stops at a bound with a located error
// instead of exhausting memory or CPU. Real Dappfiles stay far below them
// (the largest in the corpus is 10 KiB and renders in well under a
// million steps). The README's "Limits" section lists them.
const (
	// MaxDappfileSize is the largest Dappfile read, before rendering.
	MaxDappfileSize = 1 << 20
	// MaxTemplatesSize is the largest total size of the .dappfiles
	// templates.
	MaxTemplatesSize = 4 << 20
	// MaxRenderedSize is the largest rendered Dappfile (the YAML text).
	MaxRenderedSize = 4 << 20
	// MaxTemplateValue is the largest value a template function may
	// take or return (a string, or a list or dict counted deeply); it is
	// also the largest `include` output.
	MaxTemplateValue = 4 << 20
	// MaxTemplateAlloc bounds the bytes all template function results add
	// up to over a whole rendering.
	MaxTemplateAlloc = 256 << 20
	// MaxTemplateSteps bounds the template's work: each loop iteration
	// and each template entered counts the nodes of its body, each
	// function call counts one plus the items it is given.
	MaxTemplateSteps = 200_000
	// MaxTemplateCalls bounds `include` and `template` calls.
	MaxTemplateCalls = 10_000
	// MaxTemplateList is the longest list a template function may build
	// (until, untilStep, seq, splitList, ...).
	MaxTemplateList = 100_000
	// MaxYAMLNodes bounds a document's YAML nodes with every alias and
	// merge key (`<<:`) expanded.
	MaxYAMLNodes = 200_000
	// MaxDocuments bounds the YAML documents of a Dappfile.
	MaxDocuments = 10_000
	// MaxImages bounds the images and artifacts of a Dappfile (a
	// `dimg: [a, b]` document counts each name).
	MaxImages = 10_000
)

// sizeString renders a byte count for messages: "4 MiB", "1.5 KiB", "12 bytes".
func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkCounts refuses more than MaxDocuments documents or MaxImages
// images and artifacts, at the first one past the limit.
func (p *parser) checkCounts(docs []document, images []*Image) error {
	if len(docs) > MaxDocuments {
		line := p.lines.line(docs[MaxDocuments].firstLine - 1) // its `---`
		return &LocationError{Ranges: []Range{pointRange(line, 1)},
			Err: fmt.Errorf("more than %d YAML documents: split the build into several Dappfiles", MaxDocuments)}
	}
	if len(images) > MaxImages {
		return &LocationError{Ranges: []Range{images[MaxImages].NameLoc},
			Err: fmt.Errorf("more than %d images and artifacts: split the build into several Dappfiles", MaxImages)}
	}
	return nil
}
