// The Python editor: CodeMirror 6 bound to one file's Y.Text at a time (remote cursors labelled with names),
// coloured through CSS variables so it follows the light and dark themes, read-only for viewers, and able to
// mark the line an exception came from.

import {
  indentLess, indentMore, indentWithTab, insertNewlineAndIndent, standardKeymap, toggleComment,
} from "@codemirror/commands";
import {
  bracketMatching, HighlightStyle, indentOnInput, StreamLanguage, syntaxHighlighting,
} from "@codemirror/language";
import { python } from "@codemirror/legacy-modes/mode/python";
import { Compartment, EditorState, Extension, StateEffect, StateField } from "@codemirror/state";
import {
  Decoration, DecorationSet, drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter,
  highlightSpecialChars, keymap, lineNumbers,
} from "@codemirror/view";
import { tags as t } from "@lezer/highlight";
import * as Y from "yjs";
import { yCollab } from "y-codemirror.next";
import type { Awareness } from "y-protocols/awareness";

const pythonMode = StreamLanguage.define(python);

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.definitionKeyword, t.moduleKeyword, t.operatorKeyword],
    color: "var(--syn-keyword)", fontWeight: "600" },
  { tag: [t.string, t.special(t.string)], color: "var(--syn-string)" },
  { tag: [t.number, t.bool, t.null], color: "var(--syn-number)" },
  { tag: [t.comment, t.lineComment], color: "var(--syn-comment)", fontStyle: "italic" },
  { tag: [t.function(t.variableName), t.definition(t.variableName)], color: "var(--syn-function)" },
  { tag: t.standard(t.variableName), color: "var(--syn-class)" },
  { tag: [t.className, t.definition(t.className)], color: "var(--syn-class)" },
  { tag: [t.self, t.special(t.variableName)], color: "var(--syn-self)" },
]);

const theme = EditorView.theme({
  "&": { color: "var(--fg)", backgroundColor: "var(--editor-bg)", height: "100%", fontSize: "15px" },
  // Room above the first line for the name label of a cursor there.
  ".cm-content": { caretColor: "var(--fg)", fontFamily: "var(--mono)", paddingTop: "16px" },
  ".cm-gutters": { backgroundColor: "var(--editor-gutter)", color: "var(--muted)", border: "none" },
  ".cm-activeLine": { backgroundColor: "var(--editor-active)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--editor-active)" },
  "&.cm-focused .cm-cursor": { borderLeftColor: "var(--fg)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection": {
    backgroundColor: "var(--selection) !important" },
  ".cm-errorLine": { backgroundColor: "var(--err-bg)", outline: "1px solid var(--err)" },
  // Names on remote cursors stay visible: in a classroom you want to see who is where.
  ".cm-ySelectionInfo": { opacity: "1", top: "-1.25em", fontFamily: "var(--sans)", fontSize: "11px",
    padding: "1px 4px", borderRadius: "3px 3px 3px 0", color: "#fff" },
  ".cm-ySelectionCaret": { borderLeftWidth: "2px" },
});

const setError = StateEffect.define<number | null>();
const errorLine = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    for (const e of tr.effects) {
      if (!e.is(setError)) continue;
      if (e.value === null || e.value < 1 || e.value > tr.state.doc.lines) return Decoration.none;
      const line = tr.state.doc.line(e.value);
      return Decoration.set([Decoration.line({ class: "cm-errorLine", attributes: { title: "The error happened here" } })
        .range(line.from)]);
    }
    return tr.docChanged ? Decoration.none : deco.map(tr.changes);
  },
  provide: (f) => EditorView.decorations.from(f),
});

export interface EditorOptions {
  parent: HTMLElement;
  awareness: Awareness;
  readOnly: boolean;
  onRun: () => void;
  label: string;
}

export class Editor {
  readonly view: EditorView;
  file: string | null = null;
  private text: Y.Text | null = null;
  private undo: Y.UndoManager | null = null;
  // Rights can change while the page is open (a pair room switched to demo): reconfigured, not rebuilt.
  private readonly access = new Compartment();

  constructor(private readonly opts: EditorOptions) {
    this.view = new EditorView({ parent: opts.parent, state: this.stateFor(null) });
  }

  private stateFor(text: Y.Text | null): EditorState {
    const extensions: Extension[] = [
      // Undo/redo come from y-codemirror.next's Y.UndoManager keymap (only one's own edits are undone).
      // A lean keymap (the full default one costs kilobytes the budget has not got).
      keymap.of([
        { key: "Mod-Enter", run: () => { this.opts.onRun(); return true; } },
        { key: "Enter", run: insertNewlineAndIndent },
        { key: "Mod-/", run: toggleComment },
        { key: "Mod-]", run: indentMore },
        { key: "Mod-[", run: indentLess },
        indentWithTab,
        ...standardKeymap,
      ]),
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      drawSelection(),
      indentOnInput(),
      bracketMatching(),
      highlightActiveLine(),
      EditorState.tabSize.of(4),
      // The stream-based Python mode: a fifth of the size of the Lezer grammar, which the budget cannot afford.
      pythonMode,
      syntaxHighlighting(highlight),
      theme,
      errorLine,
      this.access.of(this.accessExtensions(this.opts.readOnly || text === null)),
      EditorView.contentAttributes.of({ "aria-label": this.opts.label, "aria-describedby": "editor-help" }),
    ];
    if (text) {
      this.undo = new Y.UndoManager(text);
      extensions.push(yCollab(text, this.opts.awareness, { undoManager: this.undo }));
    }
    return EditorState.create({ doc: text ? text.toString() : "", extensions });
  }

  private accessExtensions(readOnly: boolean): Extension {
    return [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly),
      EditorView.contentAttributes.of(readOnly ? { "aria-readonly": "true" } : {})];
  }

  /** Make the editor read-only (or writable again) now, keeping the document, cursor and scroll. */
  setReadOnly(readOnly: boolean): void {
    this.opts.readOnly = readOnly;
    this.view.dispatch({ effects: this.access.reconfigure(this.accessExtensions(readOnly || this.text === null)) });
  }

  get readOnly(): boolean { return this.opts.readOnly; }

  /** The 1-based line of the cursor. */
  cursorLine(): number {
    return this.view.state.doc.lineAt(this.view.state.selection.main.head).number;
  }

  /** The first visible line (1-based), for follow-me's scroll position. */
  topLine(): number {
    const block = this.view.lineBlockAtHeight(this.view.scrollDOM.scrollTop);
    return this.view.state.doc.lineAt(block.from).number;
  }

  /** Put the cursor at the start of a line and bring it to the middle of the view. */
  gotoLine(line: number, focus = true): void {
    const doc = this.view.state.doc;
    if (line < 1 || line > doc.lines) return;
    const at = doc.line(line).from;
    this.view.dispatch({ selection: { anchor: at }, effects: EditorView.scrollIntoView(at, { y: "center" }) });
    if (focus) this.view.focus();
  }

  /** Scroll so that ``line`` is the first visible line (follow-me). */
  scrollToTop(line: number): void {
    const doc = this.view.state.doc;
    if (line < 1 || line > doc.lines) return;
    this.view.dispatch({ effects: EditorView.scrollIntoView(doc.line(line).from, { y: "start" }) });
  }

  /** Shows `name` bound to `text` (no-op when it is already shown). */
  show(name: string, text: Y.Text): void {
    if (this.text === text) return;
    const hadFocus = this.view.hasFocus;
    this.undo?.destroy();
    this.file = name;
    this.text = text;
    this.view.setState(this.stateFor(text));
    if (hadFocus) this.view.focus();
  }

  markError(line: number | null): void {
    this.view.dispatch({ effects: setError.of(line) });
    if (line !== null && line >= 1 && line <= this.view.state.doc.lines) {
      this.view.dispatch({ effects: EditorView.scrollIntoView(this.view.state.doc.line(line).from, { y: "center" }) });
    }
  }
}
