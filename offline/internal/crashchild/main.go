// Command crashchild is the process the offline crash tests kill. In
// enqueue mode it enqueues advices from several goroutines (and forwards
// some of them) and prints "ack ID" after each Enqueue returns; the parent
// SIGKILLs it at random moments and checks that every acknowledged entry
// survived exactly once. In hold mode it opens the queue and waits, so the
// parent can check that a second process fails fast.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"posagent/offline"
)

func main() {
	db := flag.String("db", "", "queue file")
	mode := flag.String("mode", "enqueue", "enqueue | hold | open")
	prefix := flag.String("prefix", "x", "id prefix")
	writers := flag.Int("writers", 4, "concurrent enqueuers")
	rekey := flag.Bool("rekey", false, "rotate the payload key in a loop meanwhile")
	journal := flag.String("journal", "", "file the fake acquirer appends \"ID first|repeat\" lines to")
	flag.Parse()

	opts := offline.Options{Limits: map[string]offline.Limit{"*": {}}, OpenTimeout: 300 * time.Millisecond, SkipCheck: true}
	start := time.Now()
	s, err := offline.Open(*db, opts)
	if err != nil {
		fmt.Printf("open-error %v\n", errors.Is(err, offline.ErrLocked))
		fmt.Fprintf(os.Stderr, "%v (after %v)\n", err, time.Since(start))
		os.Exit(3)
	}
	switch *mode {
	case "open":
		s.Close()
		fmt.Println("opened")
		return
	case "hold":
		fmt.Println("ready")
		time.Sleep(time.Minute)
		return
	}
	fmt.Println("ready")
	ctx := context.Background()
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < *writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s-%d-%06d", *prefix, w, i)
				e := offline.Entry{ID: id, Kind: offline.KindAdvice, Amount: int64(i%500 + 1), Currency: "978", Payload: []byte("payload of " + id)}
				if i%7 == 3 {
					e.Kind, e.State = offline.KindReversal, offline.StateHeld
				}
				if err := s.Enqueue(ctx, e); err != nil {
					fmt.Fprintf(os.Stderr, "enqueue %s: %v\n", id, err)
					os.Exit(4)
				}
				out.Lock()
				fmt.Printf("ack %s\n", id)
				out.Unlock()
				if i%7 == 3 && i%2 == 1 {
					if err := s.Release(id); err != nil {
						fmt.Fprintf(os.Stderr, "release %s: %v\n", id, err)
						os.Exit(4)
					}
				}
			}
		}()
	}
	// A forwarder drains part of the queue, so that kills also land while
	// entries are in flight or being settled.
	// The "acquirer" appends every message it receives to the journal
	// before answering (a process kill does not lose written data).
	jf, err := os.OpenFile(*journal, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(5)
	}
	f := &offline.Forwarder{Store: s, Window: 16, Poll: time.Millisecond, Sender: sendFunc(func(ctx context.Context, e offline.Entry) error {
		how := "first"
		if e.Repeat {
			how = "repeat"
		}
		if _, err := fmt.Fprintf(jf, "%s %s\n", e.ID, how); err != nil {
			return err
		}
		time.Sleep(200 * time.Microsecond)
		return nil
	})}
	go f.Run(ctx)
	if *rekey {
		go func() {
			for {
				if _, _, err := s.Rekey(nil); err != nil {
					fmt.Fprintf(os.Stderr, "rekey: %v\n", err)
					os.Exit(4)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
}

type sendFunc func(ctx context.Context, e offline.Entry) error

func (f sendFunc) Forward(ctx context.Context, e offline.Entry) error { return f(ctx, e) }
