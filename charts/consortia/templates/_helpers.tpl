{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "consortia.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full resource name: release-chart unless the release name already contains the chart name. */}}
{{- define "consortia.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart label value: name-version. */}}
{{- define "consortia.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the control-plane pods (must never change across upgrades). */}}
{{- define "consortia.selectorLabels" -}}
app.kubernetes.io/name: {{ include "consortia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end }}

{{/* Labels on every object of the chart. */}}
{{- define "consortia.labels" -}}
helm.sh/chart: {{ include "consortia.chart" . }}
{{ include "consortia.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: consortia
{{- end }}

{{/* ServiceAccount name. */}}
{{- define "consortia.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "consortia.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Secret holding bootstrap-token and encryption-key. */}}
{{- define "consortia.secretName" -}}
{{- default (include "consortia.fullname" .) .Values.auth.existingSecret }}
{{- end }}

{{/* Image reference: repository@digest, else repository:tag (tag defaults to appVersion). */}}
{{- define "consortia.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* PVC name for the embedded store. */}}
{{- define "consortia.claimName" -}}
{{- default (printf "%s-data" (include "consortia.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/*
A secret value that survives upgrades: the explicit value if given, else the value already
stored in the release's Secret (lookup), else a fresh random one. Call with
(dict "ctx" $ "key" "encryption-key" "value" .Values.auth.encryptionKey "generate" "...")
*/}}
{{- define "consortia.persistentSecretValue" -}}
{{- if .value }}
{{- .value | b64enc }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace (include "consortia.fullname" .ctx) }}
{{- if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key }}
{{- else }}
{{- .generate | b64enc }}
{{- end }}
{{- end }}
{{- end }}
