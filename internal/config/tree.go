package config

// Node is one keyword line of the generic tree: its keyword, arguments and, when it
// opened a { } block, the lines inside.
type Node struct {
	Keyword  string
	Pos      Pos
	Args     []Token // the tokens after the keyword
	Raw      string  // the text after the keyword, for values re-tokenised shell-like
	Children []*Node
	Block    bool // a { } block followed the keyword
	BlockPos Pos  // where its '{' was
}

// ArgPos is the position of argument i, or of the keyword when there is no such argument.
func (n *Node) ArgPos(i int) Pos {
	if i < len(n.Args) {
		return Pos{File: n.Pos.File, Line: n.Pos.Line, Col: n.Args[i].Col}
	}
	return n.Pos
}

// treeBuilder nests logical lines into blocks as the lexer produces them, so that no
// list of every line is kept in between. A '{' opens a block for the keyword line before
// it (on the same line or an earlier one); '}' closes the innermost block.
type treeBuilder struct {
	maxDepth int
	root     *Node
	stack    []*Node
	tooDeep  int // levels opened beyond maxDepth, tracked only to keep braces balanced
	// nodes is where keyword lines' nodes are allocated, many at a time. A full one is
	// replaced, never grown, so the nodes already handed out stay where they are.
	nodes []Node
	// d holds the tree's diagnostics until finish, which reports them after the
	// lexer's, as when the tree was built once lexing was done.
	d diagSink
}

func newTreeBuilder(maxDepth int) *treeBuilder {
	root := &Node{Block: true}
	return &treeBuilder{maxDepth: maxDepth, root: root, stack: []*Node{root}}
}

// reserve makes room for n more nodes in one allocation.
func (tb *treeBuilder) reserve(n int) {
	if cap(tb.nodes)-len(tb.nodes) < n {
		tb.nodes = make([]Node, 0, n)
	}
}

// add takes one logical line: a lone "{" or "}", or a keyword with its arguments (toks
// is never empty).
func (tb *treeBuilder) add(pos Pos, toks []Token, raw string) {
	cur := tb.stack[len(tb.stack)-1]
	first := toks[0]
	switch {
	case first.Text == "{" && !first.Quoted:
		if len(tb.stack) > tb.maxDepth || tb.tooDeep > 0 {
			if tb.tooDeep == 0 {
				tb.d.errorf(pos, "blocks nested deeper than %d levels", tb.maxDepth)
			}
			tb.tooDeep++
			return
		}
		var opener *Node
		if n := len(cur.Children); n > 0 && !cur.Children[n-1].Block {
			opener = cur.Children[n-1]
		} else {
			tb.d.errorf(pos, "'{' without a keyword before it")
			opener = &Node{Pos: pos}
		}
		opener.Block = true
		opener.BlockPos = pos
		tb.stack = append(tb.stack, opener)
	case first.Text == "}" && !first.Quoted:
		switch {
		case tb.tooDeep > 0:
			tb.tooDeep--
		case len(tb.stack) == 1:
			tb.d.errorf(pos, "unexpected '}': no block is open")
		default:
			tb.stack = tb.stack[:len(tb.stack)-1]
		}
	default:
		if tb.tooDeep > 0 {
			return
		}
		if len(tb.nodes) == cap(tb.nodes) {
			tb.nodes = make([]Node, 0, 256)
		}
		tb.nodes = append(tb.nodes, Node{Keyword: first.Text, Pos: pos, Args: toks[1:], Raw: raw})
		cur.Children = append(cur.Children, &tb.nodes[len(tb.nodes)-1])
	}
}

// inGlobalDefs reports whether the next line is directly inside a top-level
// global_defs block.
func (tb *treeBuilder) inGlobalDefs() bool {
	return len(tb.stack) == 2 && tb.tooDeep == 0 && tb.stack[1].Keyword == "global_defs"
}

// finish reports the blocks left open and every diagnostic of the tree to d, and
// returns the root.
func (tb *treeBuilder) finish(d *diagSink) *Node {
	for i := len(tb.stack) - 1; i > 0; i-- {
		n := tb.stack[i]
		tb.d.errorf(n.BlockPos, "missing '}': the block of %q opened here is never closed", n.Keyword)
	}
	for _, dg := range tb.d.list {
		d.addDiagnostic(dg)
	}
	d.dropped += tb.d.dropped
	return tb.root
}
