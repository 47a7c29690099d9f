// gotest: a deterministic Go program that exercises the Go runtime under rvisor.
//
// Usage: gotest [-exit N] [FILE...]
//
// It prints its arguments and $GOTEST_NAME, runs goroutines over channels, uses sync.Mutex /
// sync.WaitGroup, maps, sort, strconv, math and fmt of floats, allocates enough to make the
// garbage collector run (and calls runtime.GC), sleeps, recovers from runtime panics and
// checksums every FILE. All output goes to stdout and is the same on every run.
package main

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

var out = bufio.NewWriter(os.Stdout)

func say(format string, a ...any) { fmt.Fprintf(out, format, a...) }

// xorshift64* generator: deterministic, cheap.
type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	*r = rng(x)
	return x * 2685821657736338717
}

// workers: 8 goroutines read job numbers from a channel and send back per-job hashes;
// a mutex-protected total and a WaitGroup tie it together.
func workers() {
	const nJobs = 2000
	jobs := make(chan int, 16)
	results := make(chan uint64, 16)
	var mu sync.Mutex
	var wg sync.WaitGroup
	total := uint64(0)
	perWorker := make([]int, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			for j := range jobs {
				h := uint64(j)*0x9E3779B97F4A7C15 + 1
				for k := 0; k < 200; k++ {
					h ^= h >> 31
					h *= 0xBF58476D1CE4E5B9
					h ^= uint64(k)
				}
				mu.Lock()
				total += h
				perWorker[id]++
				mu.Unlock()
				results <- h
			}
		}(w)
	}
	go func() {
		for j := 0; j < nJobs; j++ {
			jobs <- j
		}
		close(jobs)
	}()
	go func() { wg.Wait(); close(results) }()
	var xor uint64
	n := 0
	for h := range results {
		xor ^= h
		n++
	}
	done := 0
	for _, c := range perWorker {
		done += c
	}
	say("workers: jobs=%d results=%d done=%d sum=%016x xor=%016x\n", nJobs, n, done, total, xor)
}

// pipeline: an unbuffered 3-stage pipeline plus select with a timeout that never fires first.
func pipeline() {
	src := make(chan int)
	sq := make(chan int)
	go func() {
		for i := 1; i <= 100; i++ {
			src <- i
		}
		close(src)
	}()
	go func() {
		for v := range src {
			sq <- v * v
		}
		close(sq)
	}()
	sum := 0
	timeout := time.After(30 * time.Second)
loop:
	for {
		select {
		case v, ok := <-sq:
			if !ok {
				break loop
			}
			sum += v
		case <-timeout:
			say("pipeline: timeout!\n")
			return
		}
	}
	say("pipeline: sum of squares 1..100 = %d\n", sum)
}

func mapsAndSort() {
	words := strings.Fields(`the quick brown fox jumps over the lazy dog the dog barks and
		the fox runs over the hill while the quick dog sleeps`)
	counts := map[string]int{}
	for _, w := range words {
		counts[w]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys[:6] {
		b.WriteString(k + "=" + strconv.Itoa(counts[k]) + " ")
	}
	say("map: %d distinct words; top: %s\n", len(counts), strings.TrimSpace(b.String()))

	// A big map with integer keys, deletions and lookups.
	m := make(map[uint64]uint64)
	r := rng(12345)
	for i := 0; i < 50000; i++ {
		k := r.next() % 20000
		m[k] += uint64(i)
	}
	for k := uint64(0); k < 20000; k += 3 {
		delete(m, k)
	}
	var s uint64
	for k, v := range m {
		s += k*31 + v
	}
	say("map: big map len=%d checksum=%d\n", len(m), s)

	// sort.Ints, sort.Stable, sort.Search.
	xs := make([]int, 100000)
	for i := range xs {
		xs[i] = int(r.next()%1000000) - 500000
	}
	sort.Ints(xs)
	ok := sort.IntsAreSorted(xs)
	idx := sort.SearchInts(xs, 0)
	say("sort: sorted=%v min=%d max=%d median=%d first>=0 at %d\n", ok, xs[0], xs[len(xs)-1], xs[len(xs)/2], idx)
	type pair struct {
		k, v int
	}
	ps := make([]pair, 1000)
	for i := range ps {
		ps[i] = pair{int(r.next() % 10), i}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].k < ps[j].k })
	stable := true
	for i := 1; i < len(ps); i++ {
		if ps[i-1].k == ps[i].k && ps[i-1].v > ps[i].v {
			stable = false
		}
	}
	say("sort: stable=%v first=%v last=%v\n", stable, ps[0], ps[len(ps)-1])
}

func numbers() {
	say("math: sqrt2=%.15f sin1=%.15f exp1=%.15f\n", math.Sqrt(2), math.Sin(1), math.Exp(1))
	say("math: pi=%g e=%e log10(12345)=%.10f pow(2,0.5)=%.12f\n", math.Pi, math.E, math.Log10(12345), math.Pow(2, 0.5))
	say("math: floor(-2.5)=%v ceil(2.1)=%v trunc(-7.9)=%v mod(7.5,2)=%v hypot(3,4)=%v\n",
		math.Floor(-2.5), math.Ceil(2.1), math.Trunc(-7.9), math.Mod(7.5, 2), math.Hypot(3, 4))
	say("math: inf=%v -inf=%v nan=%v maxf64=%g minpos=%g\n",
		math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, math.SmallestNonzeroFloat64)
	// A numeric series: sum of sin(i)*exp(-i/1000) and a sqrt Newton cross-check.
	acc := 0.0
	for i := 0; i < 100000; i++ {
		x := float64(i)
		acc += math.Sin(x) * math.Exp(-x/1000)
	}
	say("math: series=%.12f\n", acc)
	worst := 0.0
	for i := 1; i <= 10000; i++ {
		x := float64(i) * 1.7
		g := x
		for k := 0; k < 40; k++ {
			g = 0.5 * (g + x/g)
		}
		if d := math.Abs(g - math.Sqrt(x)); d > worst {
			worst = d
		}
	}
	say("math: newton vs sqrt worst diff=%g\n", worst)
	var f32 float32 = 1.0 / 3.0
	say("fmt: %v %.2f %8.3f|%-8.3f| %e %G %x %q %t %c %U %08b %o %#x\n",
		f32, 2.345, math.Pi, math.E, 123456.789, 1e-10, 255, "hi\n", true, 'λ', 'λ', 5, 64, 3054)
	say("fmt: %v %+d %5d|%-5d| %s %v %v\n", []int{1, 2, 3}, 42, 7, 7, []string{"a", "b"},
		map[string]int{"z": 1, "a": 2}, struct {
			A int
			B string
		}{1, "x"})

	// strconv round trips.
	for _, s := range []string{"0", "-42", "9223372036854775807", "0x1f", "abc", "99999999999999999999"} {
		v, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			say("strconv: ParseInt(%q) error: %v\n", s, errors.Unwrap(err))
		} else {
			say("strconv: ParseInt(%q) = %d\n", s, v)
		}
	}
	for _, s := range []string{"3.14159", "1e300", "-0.000001", "6.02214076e23", "nan", "1e400"} {
		v, err := strconv.ParseFloat(s, 64)
		say("strconv: ParseFloat(%q) = %s err=%v\n", s, strconv.FormatFloat(v, 'g', -1, 64), err != nil)
	}
	say("strconv: %s %s %s %s\n", strconv.FormatInt(-255, 16), strconv.FormatUint(1<<63, 36),
		strconv.Quote("tab\tq\"é"), strconv.FormatFloat(1.0/3.0, 'f', 20, 64))

	// Integer ops on the edge.
	a, b := int64(math.MinInt64), int64(-1)
	m7, u := int64(-7), uint32(1<<32-1)
	say("int: minint/-1=%d minint%%-1=%d -7/2=%d -7%%2=%d -7>>1=%d u*3=%d hi=%d\n",
		a/b, a%b, m7/2, m7%2, m7>>1, u*3, (uint64(a)*uint64(m7))>>3)
}

// gcStress allocates well over the heap goal so the collector runs several times, keeping a
// sliding window of live buffers.
func gcStress() {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	live := make([][]byte, 16)
	sum := uint64(0)
	for i := 0; i < 400; i++ {
		buf := make([]byte, 256*1024+i)
		for j := 0; j < len(buf); j += 4096 {
			buf[j] = byte(i + j)
		}
		live[i%len(live)] = buf
		sum += uint64(len(buf))
	}
	// Lots of small objects too: a linked list.
	type node struct {
		next *node
		val  [6]int
	}
	var head *node
	for i := 0; i < 200000; i++ {
		head = &node{next: head, val: [6]int{i}}
		if i%1000 == 999 {
			head = nil
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	checksum := 0
	for _, b := range live {
		checksum += len(b) + int(b[0])
	}
	say("gc: allocated %d bytes in big buffers; live checksum=%d; collections ran: %v\n",
		sum, checksum, after.NumGC > before.NumGC)
}

func panics() {
	try := func(name string, f func()) {
		defer func() {
			if r := recover(); r != nil {
				say("panic: %s recovered: %v\n", name, r)
			}
		}()
		f()
		say("panic: %s did not panic\n", name)
	}
	var s []int
	zero := 0
	try("index", func() { _ = s[zero+5] })
	try("divide", func() { _ = 10 / zero })
	try("custom", func() { panic(fmt.Sprintf("custom %d", 42)) })
	try("map-nil-write", func() {
		var m map[string]int
		m["x"] = 1
	})
	try("none", func() {})
}

func sleeps() {
	start := time.Now()
	time.Sleep(10 * time.Millisecond)
	el := time.Since(start)
	say("time: slept >= 10ms: %v\n", el >= 10*time.Millisecond)
	tick := time.NewTicker(2 * time.Millisecond)
	n := 0
	for range tick.C {
		n++
		if n == 3 {
			break
		}
	}
	tick.Stop()
	say("time: ticker fired %d times\n", n)
}

func files(paths []string) {
	for _, p := range paths {
		base := p[strings.LastIndexByte(p, '/')+1:]
		f, err := os.Open(p)
		if err != nil {
			say("file %s: error: %v\n", base, errors.Unwrap(err))
			continue
		}
		h := sha256.New()
		c := crc32.NewIEEE()
		n, err := io.Copy(io.MultiWriter(h, c), f)
		f.Close()
		if err != nil {
			say("file %s: read error: %v\n", p, err)
			continue
		}
		data, _ := os.ReadFile(p)
		lines := strings.Count(string(data), "\n")
		say("file %s: %d bytes, %d lines, crc32=%08x sha256=%x\n", base, n, lines, c.Sum32(), h.Sum(nil))
	}
}

func main() {
	exitCode := 0
	args := os.Args[1:]
	if len(args) >= 2 && args[0] == "-exit" {
		exitCode, _ = strconv.Atoi(args[1])
		args = args[2:]
	}
	say("gotest: %d args after the program name\n", len(os.Args)-1)
	for i, a := range os.Args[1:] {
		say("arg[%d]=%q\n", i+1, a)
	}
	name, ok := os.LookupEnv("GOTEST_NAME")
	say("env GOTEST_NAME=%q set=%v\n", name, ok)
	say("runtime: GOOS=%s GOARCH=%s\n", runtime.GOOS, runtime.GOARCH)

	workers()
	pipeline()
	mapsAndSort()
	numbers()
	gcStress()
	panics()
	sleeps()
	files(args)

	say("done\n")
	out.Flush()
	os.Exit(exitCode)
}
