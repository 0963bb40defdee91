package cachemounts

// apt keeps nothing in a cache mount by default inside the official Debian
// and Ubuntu images:
//
//   - /etc/apt/apt.conf.d/docker-clean (written by debuerreotype) runs
//     `rm -f /var/cache/apt/archives/*.deb ...` after every dpkg run and
//     after `apt-get update`;
//   - the `apt` binary deletes the packages it installed unless
//     Binary::apt::APT::Keep-Downloaded-Packages is true.
//
// Docker's documentation fixes both by deleting docker-clean and writing a
// keep-cache file in a RUN of its own, which leaves both changes in the
// image. Here both are done with read-only file mounts for the step only:
//
//   - an empty file is mounted over docker-clean, so apt reads no
//     configuration from it; the file in the image is never touched;
//   - aptKeepCacheFile is mounted as a new file in apt.conf.d, read after
//     every other file (apt reads the directory in alphanumeric order).
//
// When a target does not exist in the image, the container runtime creates
// an empty stub for it and BuildKit removes it after the step, restoring
// the parent directory's timestamps (executor.MountStubsCleaner,
// moby/buildkit#3148), so the layer does not change. Commands that handle
// docker-clean themselves (`rm -f /etc/apt/apt.conf.d/docker-clean`, as
// Docker's documentation suggests) would fail on a mounted file, so when a
// stage mentions docker-clean it is left alone.

// aptDockerClean is Debian's docker-clean configuration.
const aptDockerClean = "/etc/apt/apt.conf.d/docker-clean"

// aptKeepCacheFile is read last among apt.conf.d's files ("zz" sorts after
// the numbered and docker-* files images ship).
const aptKeepCacheFile = "/etc/apt/apt.conf.d/zz-dapp-frontend-cache"

// aptKeepCache is the content of aptKeepCacheFile. List-Cleanup off keeps
// `apt-get update` from deleting the lists of other sources: the lists
// cache is shared by every image on the builder (file names carry the
// source URL, suite and architecture, and apt reads only its own sources'
// files), so images on different distributions don't evict each other's.
const aptKeepCache = `// dapp-frontend: mounted for this build step only; /var/cache/apt and
// /var/lib/apt/lists are build cache mounts, never part of the image.
APT::Keep-Downloaded-Packages "true";
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT::Get::List-Cleanup "false";
`

func aptConfig(hideDockerClean bool) []Mount {
	ms := []Mount{{
		Target:  aptKeepCacheFile,
		Type:    File,
		Content: []byte(aptKeepCache),
		Reason:  "makes apt keep downloaded packages in its cache",
	}}
	if hideDockerClean {
		ms = append(ms, Mount{
			Target:  aptDockerClean,
			Type:    File,
			Content: []byte{},
			Reason:  "hides docker-clean, which deletes apt's downloaded packages, for this step",
		})
	}
	return ms
}
