// Command msgtool produces and checks the messages of the systemd guest
// tests (test/systemd/guest.sh): the guest has no Pulsar client of its own.
//
//	msgtool subscribe -url pulsar://... -topic T -sub S
//	msgtool produce   -url pulsar://... -topic T -count N [-interval 100ms] [-prefix m]
//	msgtool consume   -url pulsar://... -topic T -sub S -count N [-suffix !] [-prefix m] [-timeout 2m]
//
// consume exits 0 once it has seen every one of <prefix>-0<suffix> ...
// <prefix>-(N-1)<suffix> (duplicates are fine: delivery is at least once),
// and 1 with the missing ones listed when the timeout passes first.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: msgtool subscribe|produce|consume [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	url := fs.String("url", "pulsar://127.0.0.1:6650", "broker service URL")
	topic := fs.String("topic", "", "topic")
	sub := fs.String("sub", "msgtool", "subscription")
	count := fs.Int("count", 100, "number of messages")
	interval := fs.Duration("interval", 100*time.Millisecond, "pause between messages (produce)")
	prefix := fs.String("prefix", "m", "payload prefix")
	suffix := fs.String("suffix", "!", "suffix the function appends (consume)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after (consume)")
	_ = fs.Parse(os.Args[2:])
	if *topic == "" {
		fmt.Fprintln(os.Stderr, "msgtool: -topic is required")
		os.Exit(2)
	}
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: *url, OperationTimeout: 30 * time.Second, Logger: plog.DefaultNopLogger()})
	if err != nil {
		fmt.Fprintf(os.Stderr, "msgtool: connect %s: %v\n", *url, err)
		os.Exit(1)
	}
	defer client.Close()
	switch os.Args[1] {
	case "subscribe":
		err = subscribe(client, *topic, *sub)
	case "produce":
		err = produce(client, *topic, *prefix, *count, *interval)
	case "consume":
		err = consume(client, *topic, *sub, *prefix, *suffix, *count, *timeout)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "msgtool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func subscribe(client pulsar.Client, topic, sub string) error {
	c, err := client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: sub,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", sub, topic, err)
	}
	c.Close()
	return nil
}

func produce(client pulsar.Client, topic, prefix string, count int, interval time.Duration) error {
	p, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		return fmt.Errorf("producer on %s: %w", topic, err)
	}
	defer p.Close()
	for i := range count {
		payload := prefix + "-" + strconv.Itoa(i)
		if _, err := p.Send(context.Background(), &pulsar.ProducerMessage{Payload: []byte(payload)}); err != nil {
			return fmt.Errorf("send %s to %s: %w", payload, topic, err)
		}
		if i%50 == 0 {
			fmt.Printf("%s sent %s\n", time.Now().Format(time.TimeOnly), payload)
		}
		time.Sleep(interval)
	}
	fmt.Printf("sent %d messages to %s\n", count, topic)
	return nil
}

func consume(client pulsar.Client, topic, sub, prefix, suffix string, count int, timeout time.Duration) error {
	c, err := client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: sub,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", sub, topic, err)
	}
	defer c.Close()
	seen := map[string]bool{}
	received := 0
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for len(seen) < count {
		msg, err := c.Receive(ctx)
		if err != nil {
			var missing []string
			for i := range count {
				if want := prefix + "-" + strconv.Itoa(i) + suffix; !seen[want] {
					missing = append(missing, want)
				}
			}
			sort.Strings(missing)
			if len(missing) > 20 {
				missing = append(missing[:20], "...")
			}
			return fmt.Errorf("%d of %d distinct messages after %v (%d received); missing: %s",
				len(seen), count, timeout, received, strings.Join(missing, " "))
		}
		received++
		seen[string(msg.Payload())] = true
		_ = c.Ack(msg)
	}
	fmt.Printf("all %d messages processed (%d received, duplicates included)\n", count, received)
	return nil
}
