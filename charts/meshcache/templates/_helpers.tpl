{{/* Full name of the release's objects. */}}
{{- define "meshcache.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "meshcache.selectorLabels" -}}
app.kubernetes.io/name: meshcache-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "meshcache.labels" -}}
{{ include "meshcache.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: meshcache
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "meshcache.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "meshcache.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "meshcache.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "meshcache.nodeImage" -}}
{{- printf "%s:%s" .Values.nodeImage.repository (default .Chart.AppVersion .Values.nodeImage.tag) -}}
{{- end -}}

{{/*
The permissions the operator needs to run CacheClusters, and no more: it
reads CacheClusters and writes their finalizers and status; it applies
(server-side apply: patch, and create on first apply), lists and deletes the
objects it renders; it reads StatefulSets (watch) and pods (readiness); it
records Events. Leases are in the release namespace only (see role.yaml).
*/}}
{{- define "meshcache.operatorRules" -}}
- apiGroups: ["meshcache.io"]
  resources: ["cacheclusters"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["meshcache.io"]
  resources: ["cacheclusters/status"]
  verbs: ["update"]
- apiGroups: ["meshcache.io"]
  resources: ["cacheclusters/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "configmaps"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors", "prometheusrules"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices", "destinationrules"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["security.istio.io"]
  resources: ["peerauthentications"]
  verbs: ["list", "create", "patch", "delete"]
{{- end -}}
