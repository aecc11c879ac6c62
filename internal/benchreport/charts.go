package benchreport

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// palette colours the series in order: keepalived first (grey), then
// xvrrpd's (blue, green, orange).
var palette = []color.RGBA{
	{R: 0x80, G: 0x80, B: 0x80, A: 0xff},
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
}

// Chart geometry.
const (
	panelWidth  = 4.6 * vg.Inch
	chartHeight = 3.8 * vg.Inch
	chartDPI    = 96
)

// WriteCharts writes every section's chart as a PNG into dir.
func (r *Report) WriteCharts(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, s := range r.Sections {
		if s.Chart == nil {
			continue
		}
		if err := s.Chart.WritePNG(filepath.Join(dir, s.Chart.File)); err != nil {
			return fmt.Errorf("chart %s: %w", s.Chart.File, err)
		}
	}
	return nil
}

// WritePNG draws the chart's panels side by side: grouped bars, each
// labelled with its value (bars of very different sizes stay readable
// without a log scale).
func (c *Chart) WritePNG(path string) error {
	if len(c.Panels) == 0 {
		return fmt.Errorf("no panels")
	}
	plots := make([][]*plot.Plot, 1)
	for _, p := range c.Panels {
		pl, err := p.plot()
		if err != nil {
			return fmt.Errorf("panel %q: %w", p.Title, err)
		}
		plots[0] = append(plots[0], pl)
	}
	img := vgimg.NewWith(vgimg.UseWH(panelWidth*vg.Length(len(c.Panels)), chartHeight), vgimg.UseDPI(chartDPI))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(c.Panels), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, tiles, dc)
	for j, pl := range plots[0] {
		pl.Draw(canvases[0][j])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// plot builds one panel.
func (p Panel) plot() (*plot.Plot, error) {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.Y.Label.Text = p.YLabel
	pl.Y.Min = 0
	pl.Legend.Top = true
	pl.Legend.Left = true
	ng, ns := len(p.Groups), len(p.Series)
	if ng == 0 || ns == 0 {
		return nil, fmt.Errorf("no groups or no series")
	}
	// The plotting area is about the panel less the axes; each group
	// gets an equal share, 80 % of it for bars.
	area := panelWidth - 0.9*vg.Inch
	bw := area / vg.Length(ng) * 0.8 / vg.Length(ns)
	top := 0.0
	for i, s := range p.Series {
		vals := make(plotter.Values, ng)
		labels := make([]string, ng)
		xys := make(plotter.XYs, ng)
		for g := range ng {
			v := math.NaN()
			if g < len(s.Values) {
				v = s.Values[g]
			}
			labels[g] = Num(v)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v, labels[g] = 0, "n/a"
			}
			vals[g] = v
			xys[g] = plotter.XY{X: float64(g), Y: v}
			top = max(top, v)
		}
		bc, err := plotter.NewBarChart(vals, bw)
		if err != nil {
			return nil, err
		}
		bc.Color = palette[i%len(palette)]
		bc.LineStyle.Width = 0
		bc.Offset = (vg.Length(i) - vg.Length(ns-1)/2) * bw
		pl.Add(bc)
		pl.Legend.Add(s.Name, bc)
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return nil, err
		}
		for k := range lb.TextStyle {
			lb.TextStyle[k].XAlign = text.XCenter
			lb.TextStyle[k].YAlign = text.YBottom
			lb.TextStyle[k].Font.Size = vg.Points(7)
			if ng*ns > 8 {
				lb.TextStyle[k].Rotation = math.Pi / 2
				lb.TextStyle[k].XAlign = text.XLeft
				lb.TextStyle[k].YAlign = text.YCenter
			}
		}
		lb.Offset = vg.Point{X: bc.Offset, Y: vg.Points(1)}
		pl.Add(lb)
	}
	// Room above the tallest bar for its label and the legend.
	pl.Y.Max = math.Max(top*1.35, 1e-9)
	if top == 0 {
		pl.Y.Max = 1
	}
	pl.NominalX(p.Groups...)
	if ng > 3 {
		pl.X.Tick.Label.Rotation = math.Pi / 8
		pl.X.Tick.Label.XAlign = text.XRight
		pl.X.Tick.Label.YAlign = text.YCenter
	}
	return pl, nil
}
