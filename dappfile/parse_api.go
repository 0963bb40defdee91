package dappfile

// ParseOpt carries what a Dappfile's template may read. Every field may be
// left empty: Parse then works on the bytes alone.
type ParseOpt struct {
	// Werf says the file is a werf.yaml (IsWerfFile of its name): werf's
	// spellings are then its own and earn no warning.
	Werf bool
	// BuildArgs answer `env "NAME"`: a frontend has no user shell, so the
	// values come from `--build-arg NAME=...`.
	BuildArgs map[string]string
	// Templates are the files `.dappfiles/**/*.tmpl` of the build context,
	// keyed by their path relative to `.dappfiles` (e.g. "common/apt.tmpl").
	Templates map[string][]byte
	// TemplatePaths names, for errors, the file of each template, by its
	// path in the build context (`.werf/apt.tmpl`); a template not listed
	// is under `.dappfiles/`.
	TemplatePaths map[string]string
	// Commit answers werf's `.Commit` (HEAD of the context's repository);
	// nil makes `.Commit` an error.
	Commit func() (Commit, error)
	// ReadFile reads a file of the build context for `.Files.Get`, by a path
	// relative to the context root. It returns an error satisfying
	// errors.Is(err, fs.ErrNotExist) when the file is missing. Nil means no
	// context files are available.
	ReadFile func(path string) ([]byte, error)
}

// Warning is a problem that does not stop the build (a deprecated spelling,
// a stageDependencies glob matching nothing, a missing .Files.Get file).
// Its Range is in the Dappfile, like a LocationError's. The one warning
// type of the program: every package reports with it.
type Warning struct {
	Range   Range
	Message string
}
