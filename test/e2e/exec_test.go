package e2e

import "os/exec"

var execCommand = exec.Command
