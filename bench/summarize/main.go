// Command summarize prints one row of the benchmark table from a run's
// summary.json and the GNU time output of the process that ran it.
//
//	go run ./bench/summarize -label NAME -summary DIR/summary.json -time time.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

func main() {
	label := flag.String("label", "", "row label")
	summaryPath := flag.String("summary", "", "summary.json of the run")
	timePath := flag.String("time", "", "output of /usr/bin/time -v for the measured process")
	header := flag.Bool("header", false, "print the table header and exit")
	raw := flag.String("rawpaho", "", "output of bench/rawpaho, instead of -summary")
	flag.Parse()
	if *header {
		fmt.Println("| setup | users online | telemetry msg/s | p99 telemetry.puback | errors | CPU s (user+sys) | CPU µs/msg | max RSS | RSS/user |")
		fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		return
	}
	if *raw != "" {
		if err := rawRow(*label, *raw, *timePath); err != nil {
			fmt.Fprintln(os.Stderr, "summarize:", err)
			os.Exit(1)
		}
		return
	}
	if err := row(*label, *summaryPath, *timePath); err != nil {
		fmt.Fprintln(os.Stderr, "summarize:", err)
		os.Exit(1)
	}
}

func row(label, summaryPath, timePath string) error {
	f, err := os.Open(summaryPath)
	if err != nil {
		return err
	}
	defer f.Close()
	s, err := report.ReadJSON(f)
	if err != nil {
		return err
	}
	cpu, rssKB, err := readTime(timePath)
	if err != nil {
		return err
	}
	tel := s.Metrics[scenario.TelemetryPuback]
	var peak int64
	for _, p := range s.Series {
		peak = max(peak, p.Values[scenario.UsersOnline])
	}
	logins := s.Metrics[scenario.UserLogin].Count
	perMsg := 0.0
	if tel.Count > 0 {
		perMsg = cpu / float64(tel.Count) * 1e6
	}
	fmt.Printf("| %s | %d (logged in %d) | %.0f | %.2f ms | %d | %.1f | %.0f | %.0f MiB | %.1f KiB |\n",
		label, peak, logins, tel.Rate, tel.P99, s.TotalErrors(), cpu, perMsg, float64(rssKB)/1024, float64(rssKB)/float64(max(peak, 1)))
	return nil
}

// rawRow prints the baseline row from bench/rawpaho's closing line
// "rawpaho: N clients, S sent, A acknowledged, F failed in D".
func rawRow(label, rawPath, timePath string) error {
	b, err := os.ReadFile(rawPath)
	if err != nil {
		return err
	}
	var clients, sent, acked, failed int64
	var took string
	line := strings.TrimSpace(string(b))
	if i := strings.LastIndex(line, "rawpaho:"); i >= 0 {
		line = line[i:]
	}
	if _, err := fmt.Sscanf(line, "rawpaho: %d clients, %d sent, %d acknowledged, %d failed in %s", &clients, &sent, &acked, &failed, &took); err != nil {
		return fmt.Errorf("%s: %w", rawPath, err)
	}
	cpu, rssKB, err := readTime(timePath)
	if err != nil {
		return err
	}
	fmt.Printf("| %s | %d | — | — | %d | %.1f | %.0f | %.0f MiB | %.1f KiB |\n",
		label, clients, failed, cpu, cpu/float64(max(acked, 1))*1e6, float64(rssKB)/1024, float64(rssKB)/float64(max(clients, 1)))
	return nil
}

// readTime extracts CPU seconds and max RSS (KiB) from `time -v` output.
func readTime(path string) (cpu float64, rssKB int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch key {
		case "User time (seconds)", "System time (seconds)":
			v, _ := strconv.ParseFloat(val, 64)
			cpu += v
		case "Maximum resident set size (kbytes)":
			rssKB, _ = strconv.ParseInt(val, 10, 64)
		}
	}
	return cpu, rssKB, sc.Err()
}
