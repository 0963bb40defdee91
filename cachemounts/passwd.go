package cachemounts

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// User is a stage's user resolved to numbers and a home directory.
type User struct {
	UID, GID int
	// Home is "" when the image has no passwd entry for the user.
	Home string
}

// ResolveUser resolves an image config USER ("", "name", "uid",
// "name:group", "uid:gid") against the image's /etc/passwd and /etc/group
// (either may be nil when the image has none). "" is root. A numeric user
// missing from passwd keeps its gid (0 unless given) and has no home; a
// missing user or group name is an error, as it is for the container
// runtime.
func ResolveUser(user string, passwd, group []byte) (User, error) {
	name, grp, hasGroup := strings.Cut(user, ":")
	if name == "" {
		name = "root"
	}
	u := User{}
	entry, found := findEntry(passwd, name)
	switch {
	case found:
		u.UID, _ = strconv.Atoi(entry[2])
		u.GID, _ = strconv.Atoi(entry[3])
		u.Home = entry[5]
	case isDigits(name):
		u.UID, _ = strconv.Atoi(name)
	case name == "root":
		u.Home = "/root"
	default:
		return User{}, fmt.Errorf("user %q not found in /etc/passwd", name)
	}
	if hasGroup {
		if isDigits(grp) {
			u.GID, _ = strconv.Atoi(grp)
		} else if g, ok := findEntry(group, grp); ok {
			u.GID, _ = strconv.Atoi(g[2])
		} else {
			return User{}, fmt.Errorf("group %q not found in /etc/group", grp)
		}
	}
	return u, nil
}

// findEntry finds a passwd or group line by name, or by uid/gid when key is
// numeric. passwd lines have 7 fields, group lines 4.
func findEntry(file []byte, key string) ([]string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(file))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 7 && len(f) != 4 {
			continue
		}
		if _, err := strconv.Atoi(f[2]); err != nil {
			continue
		}
		if f[0] == key || isDigits(key) && f[2] == key {
			return f, true
		}
	}
	return nil, false
}
