"use strict";(self.rspackChunk_codetutor_labextension=self.rspackChunk_codetutor_labextension||[]).push([[700],{646(o,r,t){var e=t(601),a=t.n(e),n=t(314),p=(t.n(n))()(a());p.push([o.id,`/* Code Tutor in JupyterLab: only JupyterLab's CSS variables, so light and dark themes fit. */

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
`,""]),t.d(r,{},{A:p})},314(o){o.exports=function(o){var r=[];return r.toString=function(){return this.map(function(r){var t="",e=void 0!==r[5];return r[4]&&(t+="@supports (".concat(r[4],") {")),r[2]&&(t+="@media ".concat(r[2]," {")),e&&(t+="@layer".concat(r[5].length>0?" ".concat(r[5]):""," {")),t+=o(r),e&&(t+="}"),r[2]&&(t+="}"),r[4]&&(t+="}"),t}).join("")},r.i=function(o,t,e,a,n){"string"==typeof o&&(o=[[null,o,void 0]]);var p={};if(e)for(var i=0;i<this.length;i++){var c=this[i][0];null!=c&&(p[c]=!0)}for(var d=0;d<o.length;d++){var l=[].concat(o[d]);e&&p[l[0]]||(void 0!==n&&(void 0===l[5]||(l[1]="@layer".concat(l[5].length>0?" ".concat(l[5]):""," {").concat(l[1],"}")),l[5]=n),t&&(l[2]&&(l[1]="@media ".concat(l[2]," {").concat(l[1],"}")),l[2]=t),a&&(l[4]?(l[1]="@supports (".concat(l[4],") {").concat(l[1],"}"),l[4]=a):l[4]="".concat(a)),r.push(l))}},r}},601(o){o.exports=function(o){return o[1]}},72(o){var r=[];function t(o){for(var t=-1,e=0;e<r.length;e++)if(r[e].identifier===o){t=e;break}return t}function e(o,e){for(var a={},n=[],p=0;p<o.length;p++){var i=o[p],c=e.base?i[0]+e.base:i[0],d=a[c]||0,l="".concat(c," ").concat(d);a[c]=d+1;var u=t(l),s={css:i[1],media:i[2],sourceMap:i[3],supports:i[4],layer:i[5]};if(-1!==u)r[u].references++,r[u].updater(s);else{var f=function(o,r){var t=r.domAPI(r);return t.update(o),function(r){r?(r.css!==o.css||r.media!==o.media||r.sourceMap!==o.sourceMap||r.supports!==o.supports||r.layer!==o.layer)&&t.update(o=r):t.remove()}}(s,e);e.byIndex=p,r.splice(p,0,{identifier:l,updater:f,references:1})}n.push(l)}return n}o.exports=function(o,a){var n=e(o=o||[],a=a||{});return function(o){o=o||[];for(var p=0;p<n.length;p++){var i=t(n[p]);r[i].references--}for(var c=e(o,a),d=0;d<n.length;d++){var l=t(n[d]);0===r[l].references&&(r[l].updater(),r.splice(l,1))}n=c}}},659(o){var r={};o.exports=function(o,t){var e=function(o){if(void 0===r[o]){var t=document.querySelector(o);if(window.HTMLIFrameElement&&t instanceof window.HTMLIFrameElement)try{t=t.contentDocument.head}catch(o){t=null}r[o]=t}return r[o]}(o);if(!e)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");e.appendChild(t)}},540(o){o.exports=function(o){var r=document.createElement("style");return o.setAttributes(r,o.attributes),o.insert(r,o.options),r}},56(o,r,t){o.exports=function(o){var r=t.nc;r&&o.setAttribute("nonce",r)}},825(o){o.exports=function(o){if("u"<typeof document)return{update:function(){},remove:function(){}};var r=o.insertStyleElement(o);return{update:function(t){var e,a,n;e="",t.supports&&(e+="@supports (".concat(t.supports,") {")),t.media&&(e+="@media ".concat(t.media," {")),(a=void 0!==t.layer)&&(e+="@layer".concat(t.layer.length>0?" ".concat(t.layer):""," {")),e+=t.css,a&&(e+="}"),t.media&&(e+="}"),t.supports&&(e+="}"),(n=t.sourceMap)&&"u">typeof btoa&&(e+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(n))))," */")),o.styleTagTransform(e,r,o.options)},remove:function(){var o;null===(o=r).parentNode||o.parentNode.removeChild(o)}}}},113(o){o.exports=function(o,r){if(r.styleSheet)r.styleSheet.cssText=o;else{for(;r.firstChild;)r.removeChild(r.firstChild);r.appendChild(document.createTextNode(o))}}},959(o,r,t){var e=t(72),a=t.n(e),n=t(825),p=t.n(n),i=t(659),c=t.n(i),d=t(56),l=t.n(d),u=t(540),s=t.n(u),f=t(113),j=t.n(f),v=t(646),b={};b.styleTagTransform=j(),b.setAttributes=l(),b.insert=c().bind(null,"head"),b.domAPI=p(),b.insertStyleElement=s(),a()(v.A,b),v.A&&v.A.locals&&v.A.locals}}]);