{{- define "quiver.name" -}}{{ .Release.Name }}-quiver{{- end -}}
{{- define "quiver.labels" -}}
app.kubernetes.io/name: quiver
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
