// Package cachemounts turns a Dappfile's `mount:` directives and the
// package managers a stage runs into BuildKit mounts for that stage's build
// step. Nothing in these mounts ever lands in an image layer.
//
// # mount: directives
//
//	mount:
//	- from: build_dir   # cache shared by every image of the project, kept between builds
//	  to: /var/cache/build
//	- from: tmp_dir     # empty at every step, thrown away after it
//	  to: /tmp/build
//	- fromPath: /host   # BuildKit cannot bind host paths: a named cache instead (with a warning)
//	  to: /data
//
// build_dir and fromPath caches have the IDs
// "<ns>/dapp/project/<project>/build_dir/<to>" and
// "<ns>/dapp/project/<project>/fromPath/<fromPath>", where <project> is
// `--opt project=NAME` (by default the build context directory's name) and
// <ns> is the build argument BUILDKIT_CACHE_MOUNT_NS (left out when empty).
// Every user stage of the image gets the mounts; like dapp, their targets
// are empty directories in the final image.
//
// A tmp_dir is fresh for each user stage (each stage is one build step);
// dapp kept it for the whole image build.
//
// # Automatic caches
//
// Commands of the user stages (beforeInstall, install, beforeSetup, setup,
// buildArtifact) are read word by word: through `&&`, `;`, pipes,
// `sudo`, `env`, `xargs`, `timeout`, `sh -c '...'` and similar wrappers,
// with leading `VAR=value` words and `export`s followed. A tool is
// recognised by the base name of its command word (`/usr/bin/apt-get`,
// `./gradlew`). Each tool found gets these caches for that stage:
//
//	tool                              path in the step                                sharing
//	apt, apt-get, aptitude            /var/cache/apt                                  private
//	                                  /var/lib/apt/lists                              private
//	apk                               /etc/apk/cache                                  private
//	yum, dnf, dnf5, microdnf          /var/cache/yum, /var/cache/dnf,
//	                                  /var/cache/libdnf5                              private
//	npm, npx                          $npm_config_cache or ~/.npm                     shared
//	yarn (v1)                         $YARN_CACHE_FOLDER or $XDG_CACHE_HOME/yarn      private
//	yarn (2+)                         $YARN_GLOBAL_FOLDER/cache or ~/.yarn/berry/cache shared
//	pnpm, pnpx                        store: $PNPM_HOME/store, $XDG_DATA_HOME/pnpm/store
//	                                  or ~/.local/share/pnpm/store                    shared
//	pip, pip3, python3 -m pip         $PIP_CACHE_DIR or $XDG_CACHE_HOME/pip           shared
//	composer                          $COMPOSER_CACHE_DIR, $COMPOSER_HOME/cache, or
//	                                  both $XDG_CACHE_HOME/composer and ~/.composer/cache shared
//	bundle, bundler, gem              $BUNDLE_USER_CACHE or ~/.bundle/cache,
//	                                  and $GEM_HOME/cache when GEM_HOME is set        private
//	go                                $GOCACHE or $XDG_CACHE_HOME/go-build            shared
//	                                  $GOMODCACHE or $GOPATH/pkg/mod or ~/go/pkg/mod  shared
//	cargo                             $CARGO_HOME/registry, $CARGO_HOME/git
//	                                  (CARGO_HOME defaults to ~/.cargo)               private
//	mvn, mvnw                         ~/.m2/repository (+ ~/.m2/wrapper for mvnw)     private
//	gradle, gradlew                   $GRADLE_USER_HOME/caches and /wrapper
//	                                  (GRADLE_USER_HOME defaults to ~/.gradle)        private
//	ccache (run, or named in a word)  $CCACHE_DIR or ~/.ccache                        shared
//
// $XDG_CACHE_HOME defaults to ~/.cache. Paths follow the stage's
// environment (image ENV plus the commands' own assignments) and user: `~`
// is the home of the image's USER, or /root under `sudo`. When the user's
// home is unknown (a numeric USER without a passwd entry, `sudo -u other`),
// home-based caches are skipped. For a non-root user the cache directory is
// created owned by that user, and the cache is that user's own.
//
// apt, dnf, apk, yarn v1, RubyGems, cargo, maven and gradle fail or
// corrupt their caches when two processes share them (cargo's and gradle's
// own locks do not reach across containers), so their caches are private:
// a step that runs while another one uses the cache gets an instance of
// its own (a free one, or a new empty one) instead of waiting for the
// whole other step to end. Independent images and artifacts thus install
// their packages at the same time; the price is that such a step starts
// from an empty cache and downloads again, and that later steps take
// whichever free instance BuildKit finds first (see Private). The others
// are made for concurrent use and shared.
//
// What makes the tools really keep their cache:
//
//   - apt: Debian and Ubuntu images delete downloaded packages through
//     /etc/apt/apt.conf.d/docker-clean, and `apt` deletes them itself. For the
//     step only, an empty file is mounted over docker-clean and a file
//     setting Keep-Downloaded-Packages is mounted into apt.conf.d; the
//     image's files are untouched (see apt.go). A stage whose commands
//     mention docker-clean handles it itself and is left alone. Package
//     lists are cached too, so they never land in the image: run
//     `apt-get update` in the stage that installs, as usual.
//   - apk: the cache is mounted at /etc/apk/cache, which turns apk's cache
//     on. `apk add --no-cache` still downloads every time.
//   - pnpm: the store directory is also set for the step
//     (npm_config_store_dir, pnpm_config_store_dir); otherwise pnpm would
//     create a store inside the image because the cache is another
//     filesystem.
//   - pip: when the environment sets PIP_NO_CACHE_DIR, no cache is mounted.
//   - go: GOCACHE=off turns the build cache mount off.
//   - dnf: metadata is cached; packages are kept only when dnf.conf says
//     keepcache=True.
//
// Package downloads are the same bytes whoever asks for them, and each tool
// checks them against its index, so these caches are shared by every
// project on the builder (ID "<ns>/dapp/auto/<tool>/..."), except pip's:
// wheels pip builds itself are keyed by the stage's base image, because
// glibc and musl wheels carry the same tags.
//
// Automatic caches are on by default; `--opt auto-cache=false` turns them
// off. A `mount:` directive with the same target replaces an automatic
// cache (see Merge).
//
// Output directories (node_modules, target/, build/, vendor/) are never
// cached: they are what the image is built for.
//
// # Across CI runners
//
// BuildKit keeps cache mounts on the builder. Save and Seed (transfer.go)
// copy their content into an image after a build and back into the empty
// caches of the next runner; package llb runs them in steps of their own,
// so no user step's cache key depends on them.
package cachemounts
