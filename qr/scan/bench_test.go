package scan

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The 720p frame of the speed benchmarks: a dynamic payment code (version
// 8, 6 px per module, about a third of the frame height) on a noisy
// background, as a camera at a till sees a phone held up to it; a JPEG
// file so that zbarimg and ZXingReader read exactly what we read.
const benchText = "00020101021226420019com.posagent.acqsim0115MERCHANT0000001520458125303978540512.345802DE5918POSAGENT DEMO SHOP6006BERLIN62180502R10708TERM00016304EB5E"

func benchFrame(tb testing.TB) (string, *image.Gray) {
	tb.Helper()
	img := codeImage(tb, benchText, 6, 1280, 720, 430, 130)
	rng := rand.New(rand.NewSource(7))
	for i, p := range img.Pix {
		img.Pix[i] = byte(min(255, max(0, int(p)+rng.Intn(17)-8)))
	}
	path := filepath.Join(tb.TempDir(), "frame720p.jpg")
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	g, err := ReadImage(path)
	if err != nil {
		tb.Fatal(err)
	}
	return path, g
}

// oneCore runs the benchmark body with GOMAXPROCS 1 (the decoder and the
// garbage collector share one core, as the target says).
func oneCore(b *testing.B) {
	prev := runtime.GOMAXPROCS(1)
	b.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// BenchmarkDecodeFile720p: file to text, as "posagent qr decode" does:
// read and decode the JPEG, then the decoder ladder. Peer: zbarimg on the
// same file (its figure includes starting the process, as a per-file tool).
func BenchmarkDecodeFile720p(b *testing.B) {
	path, _ := benchFrame(b)
	oneCore(b)
	d := &Decoder{}
	cpu0 := cpuNow()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		img, err := ReadImage(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := d.Decode(img)
		if err != nil || r.Text != benchText {
			b.Fatalf("decode: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64((cpuNow()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkDecodeFrame720p: the camera path, a YUYV 1280x720 buffer to
// text (luma extraction + ladder), no file and no JPEG.
func BenchmarkDecodeFrame720p(b *testing.B) {
	_, g := benchFrame(b)
	yuyv := make([]byte, 2*len(g.Pix))
	for i, p := range g.Pix {
		yuyv[2*i], yuyv[2*i+1] = p, 128
	}
	oneCore(b)
	d := &Decoder{}
	var attempt Attempt
	cpu0 := cpuNow()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		img, err := YUYVToGray(yuyv, 1280, 720, 0)
		if err != nil {
			b.Fatal(err)
		}
		r, err := d.Decode(img)
		if err != nil || r.Text != benchText {
			b.Fatalf("decode: %v", err)
		}
		attempt = r.Attempt
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64((cpuNow()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.Logf("decoded by the %s rung", attempt)
}

// cpuNow is this process's user + system CPU time: with other work on the
// machine, CPU time per operation is the figure that wall time is not.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peerCPU sums the CPU time of the peer processes a benchmark ran.
var peerCPU time.Duration

// peerDecode runs an external decoder on a file and returns its text.
func peerDecode(tb testing.TB, tool string, file string) (string, error) {
	var cmd *exec.Cmd
	switch tool {
	case "zbarimg":
		cmd = exec.Command("zbarimg", "--nodbus", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", file)
	case "ZXingReader":
		cmd = exec.Command("ZXingReader", "-format", "QRCode", "-bytes", file)
	}
	out, err := cmd.Output()
	if cmd.ProcessState != nil {
		peerCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return strings.TrimSuffix(string(out), "\n"), err
}

func needTool(tb testing.TB, tool string) {
	tb.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		tb.Fatalf("%s not installed: run scripts/deps.sh (zbar-tools, zxing-cpp-tools)", tool)
	}
}

func benchPeer720p(b *testing.B, tool string) {
	needTool(b, tool)
	path, _ := benchFrame(b)
	peerCPU = 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		text, err := peerDecode(b, tool, path)
		if err != nil || text != benchText {
			b.Fatalf("%s: %q %v", tool, text, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(peerCPU.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkZbarimg720p: zbarimg (Debian zbar-tools) on the same file.
func BenchmarkZbarimg720p(b *testing.B) { benchPeer720p(b, "zbarimg") }

// BenchmarkZXingReader720p: ZXingReader (zxing-cpp-tools) on the same file.
func BenchmarkZXingReader720p(b *testing.B) { benchPeer720p(b, "ZXingReader") }

// BenchmarkPhotoSet decodes the whole photo set with the default decoder
// (50 ms budget per frame, as when scanning) and reports the share read
// correctly.
func BenchmarkPhotoSet(b *testing.B) {
	files, texts := photoSet(b)
	imgs := make([]*image.Gray, len(files))
	for i, f := range files {
		var err error
		if imgs[i], err = ReadImage(f); err != nil {
			b.Fatal(err)
		}
	}
	d := &Decoder{Budget: 50 * time.Millisecond}
	ok := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ok = 0
		for j, img := range imgs {
			if r, err := d.Decode(img); err == nil && r.Text == texts[j] {
				ok++
			}
		}
	}
	b.ReportMetric(100*float64(ok)/float64(len(files)), "decoded-%")
	b.ReportMetric(float64(ok), "decoded")
}

func benchPhotoPeer(b *testing.B, tool string) {
	needTool(b, tool)
	files, texts := photoSet(b)
	ok := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ok = 0
		for j, f := range files {
			if text, err := peerDecode(b, tool, f); err == nil && text == texts[j] {
				ok++
			}
		}
	}
	b.ReportMetric(100*float64(ok)/float64(len(files)), "decoded-%")
	b.ReportMetric(float64(ok), "decoded")
}

// BenchmarkPhotoSetZbarimg: zbarimg on the same images.
func BenchmarkPhotoSetZbarimg(b *testing.B) { benchPhotoPeer(b, "zbarimg") }

// BenchmarkPhotoSetZXingReader: ZXingReader on the same images.
func BenchmarkPhotoSetZXingReader(b *testing.B) { benchPhotoPeer(b, "ZXingReader") }
