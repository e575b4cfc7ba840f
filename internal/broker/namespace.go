package broker

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

// NamespaceSpec says where the worker keeps cluster state and how it may
// repair that place.
type NamespaceSpec struct {
	Namespace      string   // pulsarFunctionsNamespace, tenant/namespace
	Cluster        string   // pulsarFunctionsCluster
	SuperUserRoles []string // admin roles of a tenant we create
	// AddMissingCluster lets the worker add Cluster to the namespace's
	// replication clusters instead of refusing to start.
	AddMissingCluster bool
}

// MissingClusterError is the "Namespace missing local cluster name in
// clusters list" situation, found before the broker refuses our topics.
type MissingClusterError struct {
	Namespace          string
	Cluster            string
	NamespaceClusters  []string
	TenantClusters     []string // the tenant's allowed clusters
	TenantLacksCluster bool
	// AllowedClusters is the namespace's allowed clusters, when they too
	// must change to take the wanted replication clusters.
	AllowedClusters []string
}

// wantClusters is the repaired replication cluster list.
func (e *MissingClusterError) wantClusters() []string {
	return appendMissing(e.NamespaceClusters, e.Cluster)
}

// wantAllowed is the namespace's repaired allowed cluster list, or nil when
// it needs no change.
func (e *MissingClusterError) wantAllowed() []string {
	if len(e.AllowedClusters) == 0 {
		return nil
	}
	out := e.AllowedClusters
	for _, c := range e.wantClusters() {
		out = appendMissing(out, c)
	}
	if len(out) == len(e.AllowedClusters) {
		return nil
	}
	return out
}

func (e *MissingClusterError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "functions namespace %s is not replicated to this worker's cluster %q (pulsarFunctionsCluster): "+
		"the namespace's clusters are [%s], the tenant's allowed clusters are [%s]; "+
		"the broker would refuse the worker's topics with \"Namespace missing local cluster name in clusters list\". Fix it with:",
		e.Namespace, e.Cluster, strings.Join(e.NamespaceClusters, ","), strings.Join(e.TenantClusters, ","))
	tenant, _, _ := strings.Cut(e.Namespace, "/")
	if e.TenantLacksCluster {
		fmt.Fprintf(&b, "\n  bin/pulsar-admin tenants update %s --allowed-clusters %s", tenant,
			strings.Join(appendMissing(e.TenantClusters, e.Cluster), ","))
	}
	if allowed := e.wantAllowed(); allowed != nil {
		fmt.Fprintf(&b, "\n  bin/pulsar-admin namespaces set-allowed-clusters %s --clusters %s", e.Namespace,
			strings.Join(allowed, ","))
	}
	fmt.Fprintf(&b, "\n  bin/pulsar-admin namespaces set-clusters %s --clusters %s", e.Namespace,
		strings.Join(e.wantClusters(), ","))
	b.WriteString("\nor set addFunctionsClusterToNamespace: true in functions_worker.yml to let the worker add it.")
	return b.String()
}

func appendMissing(list []string, c string) []string {
	if slices.Contains(list, c) {
		return list
	}
	return append(slices.Clone(list), c)
}

// namespacePolicies is what the Java worker sets on a namespace it creates:
// infinite retention (so the raw topics keep every message), replication to
// the functions cluster and inactive-topic deletion off.
type namespacePolicies struct {
	Retention struct {
		Minutes int `json:"retentionTimeInMinutes"`
		SizeMB  int `json:"retentionSizeInMB"`
	} `json:"retention_policies"`
	ReplicationClusters []string `json:"replication_clusters"`
	// AllowedClusters (namespace level, Pulsar 3.3+) must hold every
	// replication cluster; the broker defaults it to its own cluster.
	AllowedClusters []string `json:"allowed_clusters,omitempty"`
	InactiveTopic   struct {
		DeleteMode      *string `json:"inactiveTopicDeleteMode"`
		MaxInactiveSecs int     `json:"maxInactiveDurationSeconds"`
		DeleteInactive  bool    `json:"deleteWhileInactive"`
	} `json:"inactive_topic_policies"`
}

// EnsureFunctionsNamespace creates the functions tenant and namespace when
// missing and checks that the namespace is replicated to the functions
// cluster, repairing it only when the spec allows.
func (b *Broker) EnsureFunctionsNamespace(ctx context.Context, s NamespaceSpec) error {
	tenant, ns, ok := strings.Cut(s.Namespace, "/")
	if !ok || tenant == "" || ns == "" || strings.Contains(ns, "/") {
		return fmt.Errorf("pulsarFunctionsNamespace %q: want tenant/namespace", s.Namespace)
	}
	clusters, err := b.Admin.Clusters().ListWithContext(ctx)
	if err != nil {
		return fmt.Errorf("list clusters: %w", err)
	}
	if !slices.Contains(clusters, s.Cluster) {
		return fmt.Errorf("pulsarFunctionsCluster %q is not a cluster of this Pulsar instance; the broker knows [%s]",
			s.Cluster, strings.Join(clusters, ","))
	}

	td, err := b.Admin.Tenants().GetWithContext(ctx, tenant)
	switch StatusCode(err) {
	case 0:
	case http.StatusNotFound:
		td = utils.TenantData{Name: tenant, AdminRoles: s.SuperUserRoles, AllowedClusters: []string{s.Cluster}}
		if td.AdminRoles == nil {
			td.AdminRoles = []string{}
		}
		if err := b.Admin.Tenants().CreateWithContext(ctx, td); err != nil && StatusCode(err) != http.StatusConflict {
			return fmt.Errorf("create tenant %s: %w", tenant, err)
		}
		b.log.Info("created functions tenant", "tenant", tenant, "allowed_clusters", td.AllowedClusters)
		if err := retryNotFound(ctx, func() (err error) {
			td, err = b.Admin.Tenants().GetWithContext(ctx, tenant)
			return err
		}); err != nil {
			return fmt.Errorf("get tenant %s: %w", tenant, err)
		}
	default:
		return fmt.Errorf("get tenant %s: %w", tenant, err)
	}

	var pol namespacePolicies
	err = b.rest.GetWithContext(ctx, "/admin/v2/namespaces/"+s.Namespace, &pol)
	switch StatusCode(err) {
	case 0:
	case http.StatusNotFound:
		var create namespacePolicies
		create.Retention.Minutes, create.Retention.SizeMB = -1, -1
		create.ReplicationClusters = []string{s.Cluster}
		if err := b.rest.PutWithContext(ctx, "/admin/v2/namespaces/"+s.Namespace, create); err != nil &&
			StatusCode(err) != http.StatusConflict {
			return fmt.Errorf("create namespace %s: %w", s.Namespace, err)
		}
		b.log.Info("created functions namespace", "namespace", s.Namespace, "clusters", create.ReplicationClusters)
		// On 409 another worker is creating it right now: its policies may
		// not be readable yet, so a 404 here is retried briefly.
		if err := retryNotFound(ctx, func() error {
			return b.rest.GetWithContext(ctx, "/admin/v2/namespaces/"+s.Namespace, &pol)
		}); err != nil {
			return fmt.Errorf("get namespace %s: %w", s.Namespace, err)
		}
	default:
		return fmt.Errorf("get namespace %s: %w", s.Namespace, err)
	}

	if slices.Contains(pol.ReplicationClusters, s.Cluster) {
		return nil
	}
	missing := &MissingClusterError{
		Namespace: s.Namespace, Cluster: s.Cluster,
		NamespaceClusters: pol.ReplicationClusters, TenantClusters: td.AllowedClusters,
		TenantLacksCluster: len(td.AllowedClusters) > 0 && !slices.Contains(td.AllowedClusters, s.Cluster),
		AllowedClusters:    pol.AllowedClusters,
	}
	if !s.AddMissingCluster {
		return missing
	}
	if missing.TenantLacksCluster {
		td.Name = tenant
		td.AllowedClusters = appendMissing(td.AllowedClusters, s.Cluster)
		if err := b.Admin.Tenants().UpdateWithContext(ctx, td); err != nil {
			return fmt.Errorf("add cluster %s to tenant %s: %w", s.Cluster, tenant, err)
		}
	}
	if allowed := missing.wantAllowed(); allowed != nil {
		if err := b.rest.PostWithContext(ctx, "/admin/v2/namespaces/"+s.Namespace+"/allowedClusters", allowed); err != nil {
			return fmt.Errorf("set allowed clusters of namespace %s to %v: %w", s.Namespace, allowed, err)
		}
	}
	want := missing.wantClusters()
	if err := b.rest.PostWithContext(ctx, "/admin/v2/namespaces/"+s.Namespace+"/replication", want); err != nil {
		return fmt.Errorf("set clusters of namespace %s to %v: %w", s.Namespace, want, err)
	}
	b.log.Warn("added the functions cluster to the functions namespace (addFunctionsClusterToNamespace)",
		"namespace", s.Namespace, "was", pol.ReplicationClusters, "now", want)
	return nil
}

// EnsureTopics creates the non-partitioned persistent topics the worker
// keeps its state in; "already exists" is fine.
func (b *Broker) EnsureTopics(ctx context.Context, topics ...string) error {
	for _, t := range topics {
		tn, err := utils.GetTopicName(t)
		if err != nil {
			return fmt.Errorf("topic name %s: %w", t, err)
		}
		if err := b.Admin.Topics().CreateWithContext(ctx, *tn, 0); err != nil && StatusCode(err) != http.StatusConflict {
			return fmt.Errorf("create topic %s: %w", t, err)
		}
	}
	return nil
}

// EnsureSubscription creates subscription sub on topic at the earliest
// message unless it exists.
func (b *Broker) EnsureSubscription(ctx context.Context, topic, sub string) error {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return fmt.Errorf("topic name %s: %w", topic, err)
	}
	subs, err := b.Admin.Subscriptions().ListWithContext(ctx, *tn)
	if err != nil {
		return fmt.Errorf("list subscriptions of %s: %w", topic, err)
	}
	if slices.Contains(subs, sub) {
		return nil
	}
	err = b.Admin.Subscriptions().CreateWithContext(ctx, *tn, sub, utils.Earliest)
	if err == nil {
		return nil
	}
	// Another worker starting at the same time may have created it (and
	// joined) between our list and create: the broker then answers 409, or
	// 412 when it tries to reset the busy subscription. Trust a fresh list.
	if subs, lerr := b.Admin.Subscriptions().ListWithContext(ctx, *tn); lerr == nil && slices.Contains(subs, sub) {
		return nil
	}
	return fmt.Errorf("create subscription %s on %s: %w", sub, topic, err)
}

// TopicStats returns the broker's stats of a topic.
func (b *Broker) TopicStats(ctx context.Context, topic string) (utils.TopicStats, error) {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return utils.TopicStats{}, fmt.Errorf("topic name %s: %w", topic, err)
	}
	st, err := b.Admin.Topics().GetStatsWithContext(ctx, *tn)
	if err != nil {
		return st, fmt.Errorf("stats of %s: %w", topic, err)
	}
	return st, nil
}

// retryNotFound calls get until it answers anything but 404, for up to 30 s:
// what another worker is creating at the same moment becomes readable soon.
func retryNotFound(ctx context.Context, get func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := get()
		if StatusCode(err) != http.StatusNotFound || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
