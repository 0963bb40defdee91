// Command agentls lists the keys of the ssh agent at $SSH_AUTH_SOCK, one
// SHA256 fingerprint a line, like `ssh-add -l`. The e2e tests build it
// static and run it inside a busybox build step, which has no ssh client.
package main

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func main() {
	conn, err := net.Dial("unix", os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentls:", err)
		os.Exit(2)
	}
	defer conn.Close()
	keys, err := agent.NewClient(conn).List()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentls:", err)
		os.Exit(2)
	}
	for _, k := range keys {
		pk, err := ssh.ParsePublicKey(k.Blob)
		if err != nil {
			fmt.Fprintln(os.Stderr, "agentls:", err)
			os.Exit(2)
		}
		fmt.Println(ssh.FingerprintSHA256(pk))
	}
}
