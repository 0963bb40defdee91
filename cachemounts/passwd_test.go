package cachemounts

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolveUser(t *testing.T) {
	t.Parallel()
	passwd := []byte("root:x:0:0:root:/root:/bin/bash\n# comment\nnode:x:1000:1000::/home/node:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n")
	group := []byte("root:x:0:\nstaff:x:50:node\n")
	tests := []struct {
		user string
		want User
		err  string
	}{
		{user: "", want: User{Home: "/root"}},
		{user: "root", want: User{Home: "/root"}},
		{user: "node", want: User{UID: 1000, GID: 1000, Home: "/home/node"}},
		{user: "1000", want: User{UID: 1000, GID: 1000, Home: "/home/node"}},
		{user: "node:staff", want: User{UID: 1000, GID: 50, Home: "/home/node"}},
		{user: "www-data:0", want: User{UID: 33, GID: 0, Home: "/var/www"}},
		{user: "4242", want: User{UID: 4242}},
		{user: "4242:4242", want: User{UID: 4242, GID: 4242}},
		{user: "nobody", err: `user "nobody" not found in /etc/passwd`},
		{user: "node:wheel", err: `group "wheel" not found in /etc/group`},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			t.Parallel()
			got, err := ResolveUser(tc.user, passwd, group)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	u, err := ResolveUser("", nil, nil)
	require.NoError(t, err)
	require.Equal(t, User{Home: "/root"}, u)
}
