package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// WorkerInfo identifies one worker of the cluster: the JSON of
// /admin/v2/worker/cluster and the "id" property of its coordination consumer.
type WorkerInfo struct {
	WorkerID       string `json:"workerId"`
	WorkerHostname string `json:"workerHostname"`
	Port           int    `json:"port"`
}

// String is the form Java workers use as consumer name and "id" property:
// <workerId>:<workerHostname>:<port>.
func (w WorkerInfo) String() string {
	return w.WorkerID + ":" + w.WorkerHostname + ":" + strconv.Itoa(w.Port)
}

// ParseWorkerInfo reads the <workerId>:<workerHostname>:<port> form. Like the
// Java worker it requires exactly three parts and an integer port.
func ParseWorkerInfo(s string) (WorkerInfo, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return WorkerInfo{}, fmt.Errorf("parse worker info %q: want <workerId>:<hostname>:<port>", s)
	}
	port, err := strconv.Atoi(parts[2])
	if err != nil {
		return WorkerInfo{}, fmt.Errorf("parse worker info %q: port: %w", s, err)
	}
	return WorkerInfo{WorkerID: parts[0], WorkerHostname: parts[1], Port: port}, nil
}
