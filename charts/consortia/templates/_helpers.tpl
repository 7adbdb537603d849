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

{{/*
Labels of the chart's auxiliary pods and their objects (helm test, the secret-generating hook):
the chart's labels with another component, so that nothing selecting the control plane
(Service, NetworkPolicy, PodDisruptionBudget) ever selects them. Call with (dict "ctx" $ "component" "x").
*/}}
{{- define "consortia.auxLabels" -}}
helm.sh/chart: {{ include "consortia.chart" .ctx }}
app.kubernetes.io/name: {{ include "consortia.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: consortia
{{- end }}

{{/* Secret the chart renders with the auth values given explicitly. */}}
{{- define "consortia.secretName" -}}
{{- include "consortia.fullname" . }}
{{- end }}

{{/* Secret the pre-install hook Job generates (once) with the auth values left empty. */}}
{{- define "consortia.generatedSecretName" -}}
{{- printf "%s-generated" (include "consortia.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "true" when the hook Job must generate a value: no existingSecret and a value left empty. */}}
{{- define "consortia.generateAuth" -}}
{{- if and (not .Values.auth.existingSecret) (or (not .Values.auth.bootstrapToken) (not .Values.auth.encryptionKey)) }}true{{ end }}
{{- end }}

{{/*
Secret that holds one auth key: auth.existingSecret, else the chart's Secret when the value is
given, else the generated one. Call with (dict "ctx" $ "value" "bootstrapToken").
*/}}
{{- define "consortia.authSecretFor" -}}
{{- if .ctx.Values.auth.existingSecret }}
{{- .ctx.Values.auth.existingSecret }}
{{- else if index .ctx.Values.auth .value }}
{{- include "consortia.secretName" .ctx }}
{{- else }}
{{- include "consortia.generatedSecretName" .ctx }}
{{- end }}
{{- end }}

{{/*
The control plane's config file (YAML, keys sorted): controlPlane.config, with serviceMonitor.labels
as kubernetesRuntime.serviceMonitorLabels (the labels of the ServiceMonitors the runtime creates
for chain nodes) unless the config sets them itself. "{}" means no file.
*/}}
{{- define "consortia.configFile" -}}
{{- $cfg := deepCopy .Values.controlPlane.config }}
{{- with .Values.serviceMonitor.labels }}
{{- $runtime := deepCopy (default (dict) (get $cfg "kubernetesRuntime")) }}
{{- if not (hasKey $runtime "serviceMonitorLabels") }}
{{- $_ := set $runtime "serviceMonitorLabels" . }}
{{- end }}
{{- $_ := set $cfg "kubernetesRuntime" $runtime }}
{{- end }}
{{- toYaml $cfg }}
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
