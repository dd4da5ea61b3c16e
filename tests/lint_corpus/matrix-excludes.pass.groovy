pipeline {
    agent any
    stages {
        stage('build') {
            matrix {
                axes {
                    axis {
                        name 'JDK'
                        values '11', '17'
                    }
                    axis {
                        name 'ARCH'
                        values 'amd64', 'arm64'
                    }
                }
                excludes {
                    exclude {
                        axis {
                            name 'ARCH'
                            values 'arm64'
                        }
                        axis {
                            name 'JDK'
                            notValues '17'
                        }
                    }
                }
                stages {
                    stage('test') { steps { echo "jdk ${JDK} on ${ARCH}" } }
                }
            }
        }
    }
}
