"use strict";(self.rspackChunk_codetutor_labextension=self.rspackChunk_codetutor_labextension||[]).push([[700],{385(o,r,t){var e=t(601),a=t.n(e),i=t(314),p=(t.n(i))()(a());p.push([o.id,`/* The Problem sidebar (instructors): the metadata form, Validate's table, Unpublish. */

.jp-codetutor-authoring {
  display: flex;
  flex-direction: column;
  gap: 6px;
  min-width: 260px;
  padding: 8px;
  overflow-y: auto;
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1);
}

.jp-codetutor-authoring h2 {
  margin: 0 0 4px;
  font-size: var(--jp-ui-font-size2);
}

.jp-codetutor-metaForm {
  display: flex;
  flex-direction: column;
  gap: 6px;
}

.jp-codetutor-field {
  display: flex;
  flex-direction: column;
  gap: 2px;
}

.jp-codetutor-field input,
.jp-codetutor-field select {
  padding: 3px 5px;
  border: var(--jp-border-width) solid var(--jp-border-color1);
  background: var(--jp-input-background, var(--jp-layout-color1));
  color: var(--jp-ui-font-color0);
  font-size: var(--jp-ui-font-size1);
}

.jp-codetutor-field input[aria-invalid='true'],
.jp-codetutor-field select[aria-invalid='true'] {
  border-color: var(--jp-error-color1);
}

.jp-codetutor-fieldError,
.jp-codetutor-validError {
  color: var(--jp-error-color1);
}

.jp-codetutor-fieldError:empty {
  display: none;
}

.jp-codetutor-authoring .jp-codetutor-actions {
  display: flex;
  flex-wrap: wrap;
  gap: 6px;
}

.jp-codetutor-validOk,
.jp-codetutor-unpublished {
  color: var(--jp-success-color1);
}

.jp-codetutor-validTable {
  border-collapse: collapse;
  width: 100%;
}

.jp-codetutor-validTable th,
.jp-codetutor-validTable td {
  padding: 3px 4px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
  text-align: left;
  vertical-align: top;
}

.jp-codetutor-validTable code,
.jp-codetutor-expected {
  margin: 0;
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
  white-space: pre-wrap;
  word-break: break-word;
}

.jp-codetutor-validCase.jp-codetutor-hidden td:first-child {
  border-left: 3px solid var(--jp-warn-color1);
}

.jp-codetutor-validCase.jp-codetutor-public td:first-child {
  border-left: 3px solid var(--jp-brand-color1);
}
`,""]),t.d(r,{},{A:p})},292(o,r,t){var e=t(601),a=t.n(e),i=t(314),p=(t.n(i))()(a());p.push([o.id,`/* The Assignments panel (src/coursework.ts) and exam mode. */

.jp-codetutor-coursework {
  display: flex;
  flex-direction: column;
  min-width: 240px;
  padding: 8px;
  overflow-y: auto;
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1);
}

.jp-codetutor-assignment {
  margin-bottom: 10px;
  padding: 8px;
  border: var(--jp-border-width) solid var(--jp-border-color2);
  border-radius: var(--jp-border-radius);
}

.jp-codetutor-assignment .jp-codetutor-problem {
  cursor: default;
}

.jp-codetutor-credit {
  font-weight: 600;
  color: var(--jp-success-color1);
  white-space: nowrap;
}

.jp-codetutor-points {
  color: var(--jp-ui-font-color2);
  white-space: nowrap;
}

.jp-codetutor-countdown {
  margin: 6px 0;
  font-size: var(--jp-ui-font-size3);
  font-weight: 600;
  font-variant-numeric: tabular-nums;
  color: var(--jp-warn-color0);
}

.jp-codetutor-startExam {
  margin: 6px 0;
}

.jp-codetutor-submitResult {
  margin-top: 4px;
  color: var(--jp-ui-font-color2);
  word-break: break-all;
}

.jp-codetutor-receipt code,
.jp-codetutor-receipts {
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-ui-font-size0);
}

.jp-codetutor-receipts {
  margin: 0;
  padding-left: 16px;
}

/* Exam mode: no tutor, no review, no other problems (the services refuse them too). */
body[data-codetutor-exam] #codetutor-tutor,
body[data-codetutor-exam] #codetutor-problems,
body[data-codetutor-exam] .lm-TabBar-tab[data-id='codetutor-tutor'],
body[data-codetutor-exam] .lm-TabBar-tab[data-id='codetutor-problems'] {
  display: none !important;
}
`,""]),t.d(r,{},{A:p})},646(o,r,t){var e=t(601),a=t.n(e),i=t(314),p=t.n(i),n=t(219),d=t(385),c=t(292),l=p()(a());l.i(n.A),l.i(d.A),l.i(c.A),l.push([o.id,`/* Code Tutor in JupyterLab: only JupyterLab's CSS variables, so light and dark themes fit. */

.jp-codetutor-problems,
.jp-codetutor-tutor {
  display: flex;
  flex-direction: column;
  min-width: 240px;
  padding: 8px;
  overflow-y: auto;
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1);
}

.jp-codetutor-header {
  display: flex;
  align-items: center;
  justify-content: space-between;
}

.jp-codetutor-heading {
  margin: 4px 0 8px;
  font-size: var(--jp-ui-font-size2);
  font-weight: 600;
  text-transform: uppercase;
  letter-spacing: 0.5px;
  color: var(--jp-ui-font-color1);
}

.jp-codetutor-subheading {
  margin: 12px 0 6px;
  font-size: var(--jp-ui-font-size1);
  font-weight: 600;
  color: var(--jp-ui-font-color1);
}

.jp-codetutor-filters {
  display: flex;
  gap: 4px;
  margin-bottom: 6px;
}

.jp-codetutor-search {
  flex: 1 1 60%;
  width: auto;
  min-width: 0;
}

.jp-codetutor-tag {
  flex: 0 1 auto;
  width: auto;
  max-width: 40%;
  min-width: 0;
}

.jp-codetutor-status,
.jp-codetutor-context,
.jp-codetutor-muted {
  color: var(--jp-ui-font-color2);
  font-size: var(--jp-ui-font-size1);
}

.jp-codetutor-status:empty {
  display: none;
}

.jp-codetutor-problemList,
.jp-codetutor-recommendations,
.jp-codetutor-findingList,
.jp-codetutor-historyList {
  list-style: none;
  margin: 0;
  padding: 0;
}

.jp-codetutor-problem {
  padding: 6px 8px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
  cursor: pointer;
}

.jp-codetutor-problem:hover {
  background: var(--jp-layout-color2);
}

.jp-codetutor-problem:focus-visible,
.jp-codetutor-link:focus-visible,
.jp-codetutor-finding:focus-visible {
  outline: var(--jp-border-width) solid var(--jp-brand-color1);
  outline-offset: -1px;
}

.jp-codetutor-problemTop {
  display: flex;
  align-items: center;
  justify-content: space-between;
  gap: 6px;
}

.jp-codetutor-problemTitle {
  font-weight: 500;
  color: var(--jp-content-font-color1);
}

.jp-codetutor-problemMeta {
  display: flex;
  flex-wrap: wrap;
  gap: 4px;
  margin-top: 3px;
  align-items: center;
}

.jp-codetutor-difficulty {
  color: var(--jp-warn-color1);
  letter-spacing: 1px;
  margin-right: 4px;
}

.jp-codetutor-tagChip {
  padding: 0 6px;
  border-radius: var(--jp-border-radius);
  background: var(--jp-layout-color3);
  color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size0);
}

.jp-codetutor-verdictBadge {
  padding: 0 6px;
  border-radius: var(--jp-border-radius);
  font-size: var(--jp-ui-font-size0);
  white-space: nowrap;
  border: var(--jp-border-width) solid currentcolor;
}

.jp-codetutor-tone-good {
  color: var(--jp-success-color1);
}

.jp-codetutor-tone-bad {
  color: var(--jp-error-color1);
}

.jp-codetutor-tone-neutral {
  color: var(--jp-ui-font-color2);
}

.jp-codetutor-empty {
  padding: 6px 8px;
  color: var(--jp-ui-font-color2);
}

.jp-codetutor-link {
  padding: 0;
  border: none;
  background: none;
  color: var(--jp-content-link-color);
  cursor: pointer;
  font: inherit;
  text-align: left;
}

.jp-codetutor-link:hover {
  text-decoration: underline;
}

.jp-codetutor-recommendation {
  padding: 4px 8px;
}

.jp-codetutor-reason {
  color: var(--jp-ui-font-color2);
  font-size: var(--jp-ui-font-size0);
}

/* The verdict card, above the notebook's cells (sized by VerdictCard.fitContent). */
.jp-codetutor-card {
  box-sizing: border-box;
  padding: 6px 8px;
  overflow-y: auto;
  background: var(--jp-layout-color0);
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
}

.jp-codetutor-cardInner {
  position: relative;
  padding: 8px 32px 8px 12px;
  border: var(--jp-border-width) solid var(--jp-border-color1);
  border-radius: var(--jp-border-radius);
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1);
}

.jp-codetutor-close {
  position: absolute;
  top: 4px;
  right: 4px;
}

.jp-codetutor-cardHead {
  display: flex;
  flex-wrap: wrap;
  align-items: baseline;
  gap: 12px;
}

.jp-codetutor-verdict {
  font-size: var(--jp-ui-font-size3);
  font-weight: 600;
}

.jp-codetutor-cardStats,
.jp-codetutor-cardMessage {
  color: var(--jp-ui-font-color1);
}

.jp-codetutor-steps {
  display: flex;
  gap: 4px;
  list-style: none;
  margin: 6px 0 0;
  padding: 0;
}

.jp-codetutor-step {
  padding: 1px 8px;
  border-radius: var(--jp-border-radius);
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color2);
}

.jp-codetutor-step.jp-mod-done {
  color: var(--jp-ui-font-color1);
}

.jp-codetutor-step.jp-mod-current {
  background: var(--jp-brand-color1);
  color: var(--jp-ui-inverse-font-color1);
}

.jp-codetutor-spinner {
  display: inline-block;
  width: 12px;
  height: 12px;
  border: 2px solid var(--jp-border-color2);
  border-top-color: var(--jp-brand-color1);
  border-radius: 50%;
  animation: jp-codetutor-spin 0.8s linear infinite;
}

@keyframes jp-codetutor-spin {
  to {
    transform: rotate(360deg);
  }
}

.jp-codetutor-cases {
  width: 100%;
  margin-top: 8px;
  border-collapse: collapse;
}

.jp-codetutor-cases th,
.jp-codetutor-cases td {
  padding: 2px 8px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
  text-align: left;
  vertical-align: top;
}

.jp-codetutor-cases th {
  color: var(--jp-ui-font-color2);
  font-weight: 500;
}

.jp-codetutor-cases code {
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
  white-space: pre-wrap;
  word-break: break-word;
}

.jp-codetutor-num {
  text-align: right;
  white-space: nowrap;
}

.jp-codetutor-hiddenMark {
  color: var(--jp-ui-font-color2);
}

.jp-codetutor-error {
  margin-top: 6px;
  padding: 6px 8px;
  border-left: 3px solid var(--jp-error-color1);
  background: var(--jp-layout-color2);
}

.jp-codetutor-traceback {
  margin: 4px 0 0;
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
  white-space: pre-wrap;
}

.jp-codetutor-history {
  margin-top: 8px;
}

.jp-codetutor-history summary {
  cursor: pointer;
  color: var(--jp-ui-font-color2);
}

.jp-codetutor-history:not(:has(li)) {
  display: none;
}

.jp-codetutor-cellError {
  outline: 2px solid var(--jp-error-color1);
  outline-offset: -2px;
}

/* The tutor panel. */
.jp-codetutor-chatLog {
  flex: 1 1 auto;
  min-height: 120px;
  overflow-y: auto;
  display: flex;
  flex-direction: column;
  gap: 6px;
  padding: 4px 0;
}

.jp-codetutor-message {
  padding: 6px 8px;
  border-radius: var(--jp-border-radius);
  max-width: 92%;
}

.jp-codetutor-from-student {
  align-self: flex-end;
  background: var(--jp-layout-color3);
  border-right: 3px solid var(--jp-brand-color1);
  color: var(--jp-ui-font-color1);
}

.jp-codetutor-from-tutor {
  align-self: flex-start;
  background: var(--jp-layout-color2);
  border: var(--jp-border-width) solid var(--jp-border-color2);
}

.jp-codetutor-who {
  font-size: var(--jp-ui-font-size0);
  color: var(--jp-ui-font-color2);
}

.jp-codetutor-text {
  white-space: pre-wrap;
  word-break: break-word;
}

.jp-codetutor-message.jp-mod-streaming .jp-codetutor-text::after {
  content: '▍';
  color: var(--jp-brand-color1);
}

.jp-codetutor-notice {
  color: var(--jp-warn-color0);
  font-weight: 500;
}

.jp-codetutor-notice:empty {
  display: none;
}

.jp-codetutor-compose {
  display: flex;
  flex-direction: column;
  gap: 4px;
}

.jp-codetutor-input {
  width: 100%;
  box-sizing: border-box;
  resize: vertical;
  font-family: var(--jp-ui-font-family);
}

.jp-codetutor-actions {
  display: flex;
  justify-content: flex-end;
  gap: 4px;
  margin-top: 4px;
}

.jp-codetutor-button:disabled {
  opacity: 0.5;
  cursor: default;
}

.jp-codetutor-finding {
  display: flex;
  flex-direction: column;
  width: 100%;
  padding: 4px 8px;
  margin-bottom: 4px;
  border: none;
  border-left: 3px solid var(--jp-info-color1);
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  font: inherit;
  text-align: left;
  cursor: pointer;
}

.jp-codetutor-severity-error {
  border-left-color: var(--jp-error-color1);
}

.jp-codetutor-severity-warning {
  border-left-color: var(--jp-warn-color1);
}

.jp-codetutor-findingWhere {
  color: var(--jp-ui-font-color2);
  font-size: var(--jp-ui-font-size0);
}

.jp-codetutor-submitButton .jp-ToolbarButtonComponent-label,
.jp-codetutor-publishButton .jp-ToolbarButtonComponent-label {
  font-weight: 600;
  color: var(--jp-brand-color1);
}
`,""]),t.d(r,{},{A:l})},219(o,r,t){var e=t(601),a=t.n(e),i=t(314),p=(t.n(i))()(a());p.push([o.id,`/* The student's workflow (issue 17): filters, My submissions, submitted code, message count. */

.jp-codetutor-headerActions {
  display: flex;
  align-items: center;
  gap: 6px;
}

.jp-codetutor-viewFilters {
  flex-wrap: wrap;
}

.jp-codetutor-difficultyFilter,
.jp-codetutor-stateFilter,
.jp-codetutor-sort {
  flex: 1 1 45%;
  min-width: 110px;
}

.jp-codetutor-panelLinks {
  margin: -4px 0 8px;
}

.jp-codetutor-mySubmissions {
  font-weight: 600;
}

.jp-codetutor-predicted,
.jp-codetutor-predictedHelp {
  font-size: var(--jp-ui-font-size0);
}

.jp-codetutor-predictedHelp {
  margin: 4px 0 8px;
}

.jp-codetutor-count {
  align-self: flex-end;
  font-size: var(--jp-ui-font-size0);
  color: var(--jp-ui-font-color2);
}

.jp-codetutor-count.jp-mod-over {
  color: var(--jp-error-color1);
  font-weight: 600;
}

.jp-codetutor-submittedCode {
  margin-top: 8px;
}

.jp-codetutor-code {
  margin: 4px 0 0;
  padding: 6px 8px;
  overflow-x: auto;
  border: var(--jp-border-width) solid var(--jp-border-color2);
  border-radius: var(--jp-border-radius);
  background: var(--jp-cell-editor-background);
  color: var(--jp-content-font-color1);
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
  line-height: var(--jp-code-line-height);
}

.jp-codetutor-submissionsView {
  padding: 12px;
  overflow-y: auto;
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1);
}

/* in this view the card takes the room its content needs (no header box to fit) */
.jp-codetutor-submissionsView .jp-codetutor-card {
  position: static !important;
  min-height: auto !important;
  max-height: none !important;
  overflow: visible;
}

.jp-codetutor-submissionsTable {
  width: 100%;
  margin-bottom: 12px;
  border-collapse: collapse;
}

.jp-codetutor-submissionsTable th,
.jp-codetutor-submissionsTable td {
  padding: 3px 8px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
  text-align: left;
}

.jp-codetutor-submissionRow {
  cursor: pointer;
}

.jp-codetutor-submissionRow:hover,
.jp-codetutor-submissionRow.jp-mod-selected {
  background: var(--jp-layout-color2);
}
`,""]),t.d(r,{},{A:p})},314(o){o.exports=function(o){var r=[];return r.toString=function(){return this.map(function(r){var t="",e=void 0!==r[5];return r[4]&&(t+="@supports (".concat(r[4],") {")),r[2]&&(t+="@media ".concat(r[2]," {")),e&&(t+="@layer".concat(r[5].length>0?" ".concat(r[5]):""," {")),t+=o(r),e&&(t+="}"),r[2]&&(t+="}"),r[4]&&(t+="}"),t}).join("")},r.i=function(o,t,e,a,i){"string"==typeof o&&(o=[[null,o,void 0]]);var p={};if(e)for(var n=0;n<this.length;n++){var d=this[n][0];null!=d&&(p[d]=!0)}for(var c=0;c<o.length;c++){var l=[].concat(o[c]);e&&p[l[0]]||(void 0!==i&&(void 0===l[5]||(l[1]="@layer".concat(l[5].length>0?" ".concat(l[5]):""," {").concat(l[1],"}")),l[5]=i),t&&(l[2]&&(l[1]="@media ".concat(l[2]," {").concat(l[1],"}")),l[2]=t),a&&(l[4]?(l[1]="@supports (".concat(l[4],") {").concat(l[1],"}"),l[4]=a):l[4]="".concat(a)),r.push(l))}},r}},601(o){o.exports=function(o){return o[1]}},72(o){var r=[];function t(o){for(var t=-1,e=0;e<r.length;e++)if(r[e].identifier===o){t=e;break}return t}function e(o,e){for(var a={},i=[],p=0;p<o.length;p++){var n=o[p],d=e.base?n[0]+e.base:n[0],c=a[d]||0,l="".concat(d," ").concat(c);a[d]=c+1;var u=t(l),s={css:n[1],media:n[2],sourceMap:n[3],supports:n[4],layer:n[5]};if(-1!==u)r[u].references++,r[u].updater(s);else{var f=function(o,r){var t=r.domAPI(r);return t.update(o),function(r){r?(r.css!==o.css||r.media!==o.media||r.sourceMap!==o.sourceMap||r.supports!==o.supports||r.layer!==o.layer)&&t.update(o=r):t.remove()}}(s,e);e.byIndex=p,r.splice(p,0,{identifier:l,updater:f,references:1})}i.push(l)}return i}o.exports=function(o,a){var i=e(o=o||[],a=a||{});return function(o){o=o||[];for(var p=0;p<i.length;p++){var n=t(i[p]);r[n].references--}for(var d=e(o,a),c=0;c<i.length;c++){var l=t(i[c]);0===r[l].references&&(r[l].updater(),r.splice(l,1))}i=d}}},659(o){var r={};o.exports=function(o,t){var e=function(o){if(void 0===r[o]){var t=document.querySelector(o);if(window.HTMLIFrameElement&&t instanceof window.HTMLIFrameElement)try{t=t.contentDocument.head}catch(o){t=null}r[o]=t}return r[o]}(o);if(!e)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");e.appendChild(t)}},540(o){o.exports=function(o){var r=document.createElement("style");return o.setAttributes(r,o.attributes),o.insert(r,o.options),r}},56(o,r,t){o.exports=function(o){var r=t.nc;r&&o.setAttribute("nonce",r)}},825(o){o.exports=function(o){if("u"<typeof document)return{update:function(){},remove:function(){}};var r=o.insertStyleElement(o);return{update:function(t){var e,a,i;e="",t.supports&&(e+="@supports (".concat(t.supports,") {")),t.media&&(e+="@media ".concat(t.media," {")),(a=void 0!==t.layer)&&(e+="@layer".concat(t.layer.length>0?" ".concat(t.layer):""," {")),e+=t.css,a&&(e+="}"),t.media&&(e+="}"),t.supports&&(e+="}"),(i=t.sourceMap)&&"u">typeof btoa&&(e+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(i))))," */")),o.styleTagTransform(e,r,o.options)},remove:function(){var o;null===(o=r).parentNode||o.parentNode.removeChild(o)}}}},113(o){o.exports=function(o,r){if(r.styleSheet)r.styleSheet.cssText=o;else{for(;r.firstChild;)r.removeChild(r.firstChild);r.appendChild(document.createTextNode(o))}}},959(o,r,t){var e=t(72),a=t.n(e),i=t(825),p=t.n(i),n=t(659),d=t.n(n),c=t(56),l=t.n(c),u=t(540),s=t.n(u),f=t(113),j=t.n(f),v=t(646),b={};b.styleTagTransform=j(),b.setAttributes=l(),b.insert=d().bind(null,"head"),b.domAPI=p(),b.insertStyleElement=s(),a()(v.A,b),v.A&&v.A.locals&&v.A.locals}}]);