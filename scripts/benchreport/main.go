// Command benchreport turns `go test -bench` output into BENCHMARKS.md: for
// each benchmark the median of its runs, and the ratio to the peer or raw
// baseline measured in the same run (absolute times drift on shared
// machines; ratios measured side by side do not).
//
// Usage: benchreport -pairs FILE -out BENCHMARKS.md < bench-output.txt
// The pairs file has one line per figure: package|benchmark|peer|target.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

type sample map[string][]float64 // unit -> values

func main() {
	pairs := flag.String("pairs", "", "pairs file")
	out := flag.String("out", "BENCHMARKS.md", "output file")
	cmd := flag.String("cmd", "make bench", "command shown in the report")
	flag.Parse()
	results, cpu := parse(os.Stdin)
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	host, _ := os.Hostname()
	fmt.Fprintf(f, "# Benchmarks\n\nWritten by `%s` on %s.\nMachine: %s, %d cores, %s/%s, %s (host %s).\n",
		*cmd, time.Now().UTC().Format("2006-01-02 15:04 UTC"), cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), host)
	fmt.Fprintf(f, "Each figure is the median of the runs (`-count`); the ratio divides it by the peer or raw baseline measured in the same run.\n\n")
	fmt.Fprintln(f, "| package | benchmark | median | allocs/op | other metrics (median) | peer (same run) | peer median | ratio | target |")
	fmt.Fprintln(f, "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | --- |")
	pf, err := os.Open(*pairs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sc := bufio.NewScanner(pf)
	missing := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.Split(line, "|")
		for len(p) < 4 {
			p = append(p, "")
		}
		pkg, name, peer, target := p[0], p[1], p[2], p[3]
		s, ok := results[pkg+" "+name]
		if !ok {
			fmt.Fprintf(f, "| %s | %s | not run | | | %s | | | %s |\n", pkg, name, peer, target)
			missing++
			continue
		}
		med := median(s["ns/op"])
		others := []string{}
		units := make([]string, 0, len(s))
		for u := range s {
			units = append(units, u)
		}
		sort.Strings(units)
		for _, u := range units {
			if u != "ns/op" && u != "allocs/op" && u != "B/op" {
				others = append(others, fmt.Sprintf("%s %s", num(median(s[u])), u))
			}
		}
		peerMed, ratio := "", ""
		if ps, ok := results[pkg+" "+peer]; ok && peer != "" {
			pm := median(ps["ns/op"])
			peerMed = dur(pm)
			if pm > 0 {
				ratio = fmt.Sprintf("%.2f", med/pm)
			}
		}
		fmt.Fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", pkg, name, dur(med), num(median(s["allocs/op"])), strings.Join(others, ", "), peer, peerMed, ratio, target)
	}
	if missing > 0 {
		fmt.Fprintf(os.Stderr, "benchreport: %d benchmarks not found in the output\n", missing)
	}
}

// parse reads `go test -bench` output; results are keyed "pkg Benchmark".
func parse(r io.Reader) (map[string]sample, string) {
	res := map[string]sample{}
	pkg, cpu := "", ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
			continue
		case strings.HasPrefix(line, "cpu: "):
			cpu = strings.TrimPrefix(line, "cpu: ")
			continue
		case !strings.HasPrefix(line, "Benchmark"):
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		name := fields[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // strip -GOMAXPROCS
		}
		key := pkg + " " + name
		if res[key] == nil {
			res[key] = sample{}
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			res[key][fields[i+1]] = append(res[key][fields[i+1]], v)
		}
	}
	return res, cpu
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func dur(ns float64) string {
	switch {
	case ns == 0:
		return ""
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f us", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func num(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
