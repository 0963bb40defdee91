package frontend

import (
	"strconv"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/pkg/errors"
)

// sourceDateEpochArg is the build arg of the SOURCE_DATE_EPOCH convention
// (reproducible-builds.org): BuildKit also hands it to the exporter itself.
const sourceDateEpochArg = "SOURCE_DATE_EPOCH"

// sourceDateEpoch is the time the image is stamped with: the user's
// SOURCE_DATE_EPOCH when given, else the committer time of the context
// repository's HEAD when the Dappfile maps it with `git:`, so that one
// commit gives one image digest on any runner at any time. Without either
// there is no epoch (nil) and BuildKit stamps the build's own time.
// head is only called when needed: reading .git costs a solve.
func sourceDateEpoch(buildArgs map[string]string, cfg *dappfile.Config, head func() (time.Time, error)) (*time.Time, error) {
	if v, ok := buildArgs[sourceDateEpochArg]; ok {
		if v == "" {
			// An empty value is the user's way to turn the default off
			// (the exporter, too, reads an empty value as no epoch).
			return nil, nil
		}
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil || sec < 0 {
			return nil, errors.Errorf("build arg %s: %q is not a time in seconds since 1970-01-01 UTC (e.g. $(git log -1 --format=%%ct))", sourceDateEpochArg, v)
		}
		t := time.Unix(sec, 0).UTC()
		return &t, nil
	}
	if !mapsContextRepo(cfg) {
		return nil, nil
	}
	t, err := head()
	if err != nil {
		return nil, &headTimeError{errors.Wrap(err, "failed to read the time of the context repository's HEAD for SOURCE_DATE_EPOCH (pass --build-arg SOURCE_DATE_EPOCH= to build without)")}
	}
	t = t.UTC().Truncate(time.Second)
	return &t, nil
}

// mapsContextRepo reports whether an image of cfg has a `git:` mapping of
// the build context's own repository.
func mapsContextRepo(cfg *dappfile.Config) bool {
	for _, img := range cfg.Images {
		for _, m := range img.Git {
			if m.URL == "" {
				return true
			}
		}
	}
	return false
}

// headTimeError is sourceDateEpoch's failure to read HEAD. The conversion
// reads the same .git for the local git mappings and reports a missing or
// broken one at the mapping's Dappfile line, so Build returns this error
// only when the conversion did not.
type headTimeError struct{ error }

func (e *headTimeError) Unwrap() error { return e.error }
